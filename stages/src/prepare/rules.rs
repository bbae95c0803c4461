//! The data-quality rules of `prepare`, with defaults a careful data scientist
//! would pick; a `--rules` YAML file overrides them per column.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::clean::Kind;

/// Every rule `prepare` applies.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Columns that must be present.
    pub required: Vec<String>,
    /// Largest share of missing values, per column (`default` for the rest).
    pub missing: BTreeMap<String, f64>,
    /// Largest share of cells of a numeric column that are not numbers.
    pub wrong_type: f64,
    /// Allowed `[min, max]` per numeric column; a value outside fails the check.
    pub bounds: BTreeMap<String, (f64, f64)>,
    /// Outliers are capped at quartile ∓ `iqr_factor` × IQR, learnt on train.
    pub iqr_factor: f64,
    /// A column not typed by `types` or `bounds` is numeric when at least
    /// this share of its values are numbers; its other cells then meet
    /// `wrong_type`.
    pub numeric_share: f64,
    /// A column's type (`numeric` or `categorical`), when its values should not decide it.
    pub types: BTreeMap<String, Kind>,
    /// Spellings to map to a canonical category, per column.
    pub synonyms: BTreeMap<String, BTreeMap<String, String>>,
    /// Columns to leave out (identifiers).
    pub drop: Vec<String>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            required: Vec::new(),
            missing: BTreeMap::new(),
            wrong_type: 0.01,
            bounds: BTreeMap::new(),
            iqr_factor: 3.0,
            numeric_share: 0.5,
            types: BTreeMap::new(),
            synonyms: BTreeMap::new(),
            drop: Vec::new(),
        }
    }
}

impl Rules {
    /// Reads rules from a YAML file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = fs_err::read_to_string(path)?;
        serde_saphyr::from_str(&text).map_err(|e| {
            anyhow::anyhow!("invalid rules file `{}`: {}", path.display(), e.without_snippet())
        })
    }

    /// Returns the type the rules give `column`: its `types` entry, or numeric
    /// when it has `bounds`.
    pub fn kind(&self, column: &str) -> Option<Kind> {
        let bounded = self.bounds.contains_key(column).then_some(Kind::Numeric);
        self.types.get(column).copied().or(bounded)
    }

    /// Returns the largest missing share allowed in `column`.
    pub fn missing_limit(&self, column: &str) -> f64 {
        self.missing.get(column).or_else(|| self.missing.get("default")).copied().unwrap_or(0.2)
    }
}
