//! Trained models: preprocessing + estimator + what they were trained for,
//! saved in a versioned, checksummed file that loads back to the same
//! predictions; a corrupted or foreign file gives a clear error.

mod estimator;
mod file;
pub mod params;
pub mod preprocess;
pub mod schema;
mod softmax;
mod trees;
pub mod weights;

use serde::{Deserialize, Serialize};

pub use estimator::{Estimator, Kind, Model, argmax, fit};
pub use file::{digest, load, parse, save};
use preprocess::{Cell, Preprocessor};

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A class.
    Classification,
    /// A number.
    Regression,
}

/// Predictions: values or class indices, and class probabilities when the
/// model gives them.
pub type Predictions = (Vec<f64>, Option<Vec<Vec<f64>>>);

/// A model ready to predict from raw records.
#[derive(Serialize, Deserialize)]
pub struct TrainedModel {
    /// The estimator kind.
    pub kind: Kind,
    /// Classification or regression.
    pub task: Task,
    /// The predicted column.
    pub target: String,
    /// Class names, by index (classification).
    pub classes: Vec<String>,
    /// The hyperparameters it was trained with.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The learnt preprocessing and input schema.
    pub preprocessor: Preprocessor,
    /// The fitted estimator.
    pub estimator: Estimator,
    /// BLAKE3 of the data it was trained and tested on: `{"train": …, "test": …}`.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// A binary classifier's decision threshold on the positive class's
    /// probability (`None`: the likeliest class, 0.5).
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// Returns importances as the metrics JSON and `model show --json` write them:
/// `[{"feature": …, "importance": …}, …]`, largest first.
pub fn importances_json(importances: &[(String, f64)]) -> serde_json::Value {
    importances
        .iter()
        .map(|(feature, share)| serde_json::json!({"feature": feature, "importance": share}))
        .collect()
}

impl TrainedModel {
    /// Returns each input column's share of the model's importance (summed
    /// over a category's indicators; the shares sum to 1), largest first;
    /// none when the model has no importances to give.
    pub fn importances(&self) -> Vec<(String, f64)> {
        let width = self.preprocessor.width();
        let raw = self.estimator.importances(width);
        let mut per_feature = vec![0.0; self.preprocessor.features.len()];
        for (value, owner) in raw.iter().zip(self.preprocessor.owners()) {
            per_feature[owner] += value;
        }
        let total: f64 = per_feature.iter().sum();
        if total <= 0.0 {
            // A model saved before gains were recorded, or one that never split.
            return Vec::new();
        }
        let mut shares: Vec<(String, f64)> = self
            .preprocessor
            .features
            .iter()
            .zip(per_feature)
            .map(|(f, v)| (f.name().to_owned(), v / total))
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        shares
    }

    /// Predicts raw records: values, or class indices with probabilities.
    pub fn predict(&self, records: &[Vec<Cell>]) -> anyhow::Result<Predictions> {
        let x = self.preprocessor.matrix(records);
        // A classifier's class is the likeliest one: evaluate it once.
        if let Some(probabilities) = self.estimator.predict_proba(&x)? {
            let class = |row: &Vec<f64>| match (self.threshold, row.as_slice()) {
                (Some(threshold), [_, positive]) => f64::from(u8::from(*positive >= threshold)),
                _ => argmax(row) as f64,
            };
            let classes = probabilities.iter().map(class).collect();
            return Ok((classes, Some(probabilities)));
        }
        Ok((self.estimator.predict(&x)?, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::Hyperparameters;

    fn records() -> (Vec<Vec<Cell>>, Vec<f64>) {
        let records: Vec<Vec<Cell>> = (0..60)
            .map(|i| {
                let colour = if i % 3 == 0 { "red" } else { "blue" };
                vec![Cell::Number(f64::from(i)), Cell::Text(colour.into())]
            })
            .collect();
        let y = (0..60).map(|i| f64::from(u8::from(i % 3 == 0 || i > 45))).collect();
        (records, y)
    }

    fn trained(kind: Kind, classify: bool) -> TrainedModel {
        let (records, y) = records();
        let columns = vec![
            ("x".to_owned(), records.iter().map(|r| r[0].clone()).collect()),
            ("colour".to_owned(), records.iter().map(|r| r[1].clone()).collect()),
        ];
        let preprocessor = Preprocessor::fit(&columns, kind.encoding(&Hyperparameters::default()));
        let x = preprocessor.matrix(&records);
        let classes = classify.then_some(2);
        let estimator = fit(kind, &Hyperparameters::default(), &x, &y, classes, 7, None).unwrap();
        let task = if classes.is_some() { Task::Classification } else { Task::Regression };
        TrainedModel {
            kind,
            task,
            target: "y".into(),
            classes: vec!["0".into(), "1".into()],
            params: serde_json::Map::new(),
            preprocessor,
            estimator,
            data: None,
            threshold: None,
        }
    }

    #[test]
    fn a_saved_model_loads_and_predicts_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (records, _) = records();
        let cases = [
            (Kind::Linear, false),
            (Kind::Ridge, false),
            (Kind::Logistic, true),
            (Kind::Tree, false),
            (Kind::Tree, true),
            (Kind::Forest, false),
            (Kind::Forest, true),
            (Kind::Gbm, false),
            (Kind::Gbm, true),
        ];
        for (kind, classify) in cases {
            let model = trained(kind, classify);
            let path = dir.path().join(format!("{}-{classify}.model", kind.name()));
            save(&model, &path).unwrap();
            let loaded = load(&path).unwrap();
            assert_eq!(
                model.predict(&records).unwrap(),
                loaded.predict(&records).unwrap(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn corrupted_and_foreign_files_are_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.model");
        save(&trained(Kind::Linear, false), &path).unwrap();
        let text = fs_err::read_to_string(&path).unwrap();
        fs_err::write(&path, text.replacen("\"median\":", "\"median\":1", 1)).unwrap();
        let error = load(&path).err().unwrap().to_string();
        assert!(error.contains("is corrupted"), "{error}");
        fs_err::write(&path, "a,b\n1,2\n").unwrap();
        assert!(load(&path).err().unwrap().to_string().contains("is not a pipit model file"));
        fs_err::write(&path, text.replacen("\"version\":2", "\"version\":9", 1)).unwrap();
        assert!(load(&path).err().unwrap().to_string().contains("of format 9"));
    }
}
