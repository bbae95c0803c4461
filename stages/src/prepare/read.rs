//! Reading a raw CSV or Parquet file as text cells, so that type problems in
//! the data are found by `prepare`'s checks rather than hidden by inference.
//! A CSV file's layout is checked first ([`super::layout`]); the usual
//! spellings of a missing value (`NA`, `NaN`, an empty cell, …) become `None`
//! here, so that every stage reading data agrees on what is missing.

use std::path::Path;

use polars::prelude::*;

/// A raw table: column names and each column's cells as text.
pub struct Raw {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Cells per column; `None` where the file has no value.
    pub columns: Vec<Vec<Option<String>>>,
}

/// How a missing value is written, besides an empty cell: the common ones of
/// pandas' `read_csv` defaults. `NaN` must be among them, or it would parse as
/// a number that poisons every statistic it touches.
const MISSING: [&str; 10] =
    ["NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "#N/A"];

/// Returns true when a cell's text (trimmed) means a missing value.
pub fn is_missing(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || MISSING.contains(&text)
}

/// Returns a cell as read, `None` when it is missing.
pub fn present(cell: Option<&str>) -> Option<String> {
    cell.filter(|text| !is_missing(text)).map(str::to_owned)
}

/// Reads `path` (CSV, or Parquet for `.parquet`) with every column as text.
pub fn read(path: &Path) -> anyhow::Result<Raw> {
    let failed = |e: PolarsError| anyhow::anyhow!("cannot read `{}`: {e}", path.display());
    if !path.is_file() {
        anyhow::bail!("cannot read `{}`: no such file", path.display());
    }
    let frame = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        ParquetReader::new(fs_err::File::open(path)?.into_parts().0).finish().map_err(failed)?
    } else {
        let bytes = fs_err::read(path)?;
        super::layout::check(path, &bytes)?;
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()
            .map_err(failed)?
    };
    let mut raw = Raw { names: Vec::new(), columns: Vec::new() };
    for column in frame.columns() {
        let text = column.cast(&DataType::String).map_err(failed)?;
        let cells = text.str().map_err(failed)?.iter().map(present).collect();
        raw.names.push(column.name().to_string());
        raw.columns.push(cells);
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_spellings_of_nothing_are_missing() {
        for text in ["", "  ", "NA", "NaN", "nan", " NaN ", "N/A", "null"] {
            assert!(is_missing(text), "{text:?}");
        }
        for text in ["0", "none", "NAB", "inf", "No"] {
            assert!(!is_missing(text), "{text:?}");
        }
        assert_eq!(present(Some(" 1.5")), Some(" 1.5".to_owned()));
        assert_eq!(present(Some("nan")), None);
    }
}
