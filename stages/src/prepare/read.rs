//! Reading a raw CSV or Parquet file as text cells, so that type problems in
//! the data are found by `prepare`'s checks rather than hidden by inference.
//! A CSV file's layout is checked first ([`super::layout`]).

use std::path::Path;

use polars::prelude::*;

/// A raw table: column names and each column's cells as text.
pub struct Raw {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Cells per column; `None` where the file has no value.
    pub columns: Vec<Vec<Option<String>>>,
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
        let cells =
            text.str().map_err(failed)?.iter().map(|cell| cell.map(str::to_owned)).collect();
        raw.names.push(column.name().to_string());
        raw.columns.push(cells);
    }
    Ok(raw)
}
