//! A column-oriented table that the generators fill, turned into a polars
//! DataFrame and written as CSV or Parquet (by the file's extension).

use std::path::Path;

use polars::prelude::*;

/// The values of one column; `None` is a missing value.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Floating-point numbers.
    Float(Vec<Option<f64>>),
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Text.
    Text(Vec<Option<String>>),
}

/// Named columns of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// The columns, in order.
    pub columns: Vec<(String, Values)>,
}

impl Values {
    /// Returns the number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }

    /// Returns the value at `row` as text (what a CSV cell would hold).
    pub fn text(&self, row: usize) -> Option<String> {
        match self {
            Values::Float(v) => v[row].map(|x| x.to_string()),
            Values::Int(v) => v[row].map(|x| x.to_string()),
            Values::Text(v) => v[row].clone(),
        }
    }
}

impl Table {
    /// Adds a column.
    pub fn push(&mut self, name: &str, values: Values) {
        self.columns.push((name.to_owned(), values));
    }

    /// Returns the number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// Returns the column called `name`.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut Values> {
        self.columns.iter_mut().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Returns the table as a polars DataFrame.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let columns: Vec<Column> = self
            .columns
            .iter()
            .map(|(name, values)| {
                let name = PlSmallStr::from(name.as_str());
                match values {
                    Values::Float(v) => Series::new(name, v),
                    Values::Int(v) => Series::new(name, v),
                    Values::Text(v) => Series::new(name, v),
                }
                .into()
            })
            .collect();
        DataFrame::new(self.rows(), columns)
    }
}

/// Writes `frame` to `path`: Parquet for `.parquet`, CSV otherwise.
pub fn write(frame: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    let file = fs_err::File::create(path)?;
    let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let written = if parquet {
        ParquetWriter::new(file).finish(frame).map(|_| ())
    } else {
        CsvWriter::new(file).include_header(true).finish(frame)
    };
    written.map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))
}
