//! A plots file's contents: a table of records (CSV/TSV with or without a
//! header, JSON or YAML holding a list of objects) or an image that passes
//! through as it is.

use serde_json::Value;

/// What a plots file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Records with named columns.
    Table(Table),
    /// An image, embedded in the page as it is.
    Image { mime: &'static str, bytes: Vec<u8> },
}

/// Records: column names in the order they first appear, and each row's cells
/// (`Value::Null` where a record lacks a column).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// Returns the index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Returns column `index` of every row as a number (`None` where a cell
    /// is not one).
    pub fn numbers(&self, index: usize) -> Vec<Option<f64>> {
        self.rows.iter().map(|row| number(&row[index])).collect()
    }

    /// Returns column `index` of every row as text.
    pub fn texts(&self, index: usize) -> Vec<String> {
        self.rows.iter().map(|row| text(&row[index])).collect()
    }
}

/// Returns a cell as a number: numbers, and text that reads as one.
pub fn number(cell: &Value) -> Option<f64> {
    match cell {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// Returns a cell as a label.
pub fn text(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Returns the image type of a file by its extension.
fn image_type(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        _ => return None,
    })
}

/// Reads the plots file `shown` (a path; its extension tells the format)
/// from its bytes; `header` says whether a CSV/TSV starts with column names
/// (without, the columns are named `0`, `1`, …).
pub fn parse(bytes: Vec<u8>, shown: &str, header: bool) -> anyhow::Result<Data> {
    let extension = std::path::Path::new(shown)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(mime) = image_type(&extension) {
        return Ok(Data::Image { mime, bytes });
    }
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("`{shown}` is not UTF-8"))?;
    let table = match extension.as_str() {
        "csv" => delimited(&text, ',', header),
        "tsv" => delimited(&text, '\t', header),
        "json" => records(
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("`{shown}` is not valid JSON: {e}"))?,
            shown,
        )?,
        "yaml" | "yml" => records(
            serde_saphyr::from_str(&text)
                .map_err(|e| anyhow::anyhow!("`{shown}` is not valid YAML: {e}"))?,
            shown,
        )?,
        _ => anyhow::bail!(
            "`{shown}`: plots files are CSV, TSV, JSON or YAML series, or PNG, JPEG, GIF, SVG \
             or WebP images (by their extension)"
        ),
    };
    if table.rows.is_empty() {
        anyhow::bail!("`{shown}` has no rows to plot");
    }
    Ok(Data::Table(table))
}

/// Reads delimited text: an optional header line, then one record per line;
/// fields may be quoted (`"a, b"`, a doubled `""` inside is a quote).
fn delimited(text: &str, separator: char, header: bool) -> Table {
    let mut lines =
        text.lines().filter(|line| !line.trim().is_empty()).map(|l| fields(l, separator));
    let mut table = Table::default();
    if header {
        table.columns = lines.next().unwrap_or_default();
    }
    for cells in lines {
        while table.columns.len() < cells.len() {
            table.columns.push(table.columns.len().to_string());
        }
        let mut row: Vec<Value> = cells.into_iter().map(cell).collect();
        row.resize(table.columns.len(), Value::Null);
        table.rows.push(row);
    }
    for row in &mut table.rows {
        row.resize(table.columns.len(), Value::Null);
    }
    table
}

/// Splits one delimited line into its fields.
fn fields(line: &str, separator: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields.into_iter().map(|f| f.trim().to_owned()).collect()
}

/// A field that reads as a number becomes one.
fn cell(field: String) -> Value {
    match field.parse::<f64>() {
        Ok(n) if n.is_finite() => serde_json::json!(n),
        _ => Value::String(field),
    }
}

/// Reads records from a JSON/YAML tree: a list of objects, or the first such
/// list found inside objects (`{"roc": [{"fpr": 0, …}, …]}`, as DVC reads it).
fn records(tree: Value, shown: &str) -> anyhow::Result<Table> {
    let Some(list) = first_list(&tree) else {
        anyhow::bail!("`{shown}` holds no list of records (`[{{\"x\": 1, \"y\": 2}}, …]`)");
    };
    let mut table = Table::default();
    for record in list {
        let Value::Object(fields) = record else {
            anyhow::bail!("`{shown}`: every item of its list must be an object of fields");
        };
        let mut row = vec![Value::Null; table.columns.len()];
        for (name, value) in fields {
            let index = match table.column(name) {
                Some(index) => index,
                None => {
                    table.columns.push(name.clone());
                    row.push(Value::Null);
                    table.columns.len() - 1
                }
            };
            row[index] = value.clone();
        }
        table.rows.push(row);
    }
    for row in &mut table.rows {
        row.resize(table.columns.len(), Value::Null);
    }
    Ok(table)
}

fn first_list(tree: &Value) -> Option<&Vec<Value>> {
    match tree {
        Value::Array(items) => Some(items),
        Value::Object(fields) => fields.values().find_map(first_list),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, text: &str, header: bool) -> Table {
        match parse(text.as_bytes().to_vec(), name, header).unwrap() {
            Data::Table(table) => table,
            Data::Image { .. } => panic!("an image"),
        }
    }

    #[test]
    fn csv_and_tsv_read_with_or_without_a_header_and_quotes() {
        let csv =
            table("p.csv", "epoch,loss,note\n1,0.5,\"a, b\"\n2,0.25,\"say \"\"hi\"\"\"\n", true);
        assert_eq!(csv.columns, ["epoch", "loss", "note"]);
        assert_eq!(csv.numbers(1), [Some(0.5), Some(0.25)]);
        assert_eq!(csv.texts(2), ["a, b", "say \"hi\""]);
        let bare = table("p.tsv", "1\t2\n3\t4\t5\n", false);
        assert_eq!(bare.columns, ["0", "1", "2"]);
        assert_eq!(bare.rows[0][2], Value::Null);
    }

    #[test]
    fn json_and_yaml_records_are_found_inside_objects() {
        let json = table(
            "roc.json",
            r#"{"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1, "t": 0.5}]}"#,
            true,
        );
        assert_eq!(json.columns, ["fpr", "tpr", "t"]);
        assert_eq!(json.numbers(2), [None, Some(0.5)]);
        let yaml =
            table("p.yaml", "- {actual: a, predicted: b}\n- {actual: b, predicted: b}\n", true);
        assert_eq!(yaml.texts(0), ["a", "b"]);
    }

    #[test]
    fn images_pass_through_and_bad_files_say_why() {
        let image = parse(vec![0x89, b'P'], "cm.png", true).unwrap();
        assert!(matches!(image, Data::Image { mime: "image/png", .. }));
        let error = |name: &str, text: &str| {
            parse(text.as_bytes().to_vec(), name, true).unwrap_err().to_string()
        };
        assert!(error("p.json", r#"{"auc": 0.9}"#).contains("no list of records"));
        assert!(error("p.json", "[1, 2]").contains("must be an object"));
        assert!(error("p.csv", "a,b\n").contains("no rows"));
        assert!(error("p.txt", "1").contains("by their extension"));
    }
}
