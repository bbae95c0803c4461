//! Metrics files as scripts write them: JSON, YAML, TOML, or a CSV/TSV with
//! a header and one row; read into one flat map of dotted keys (`a.b.c`, an
//! array's items by index: `matrix.0.1`), in the file's order.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

/// One file's metrics: dotted key → value (a number, text, a boolean or null).
pub type Flat = IndexMap<String, Value>;

/// Reads the metrics file at `path`, its format told by its extension;
/// errors name it `shown`.
pub fn read(path: &Path, shown: &str) -> anyhow::Result<Flat> {
    let text = fs_err::read_to_string(path).map_err(|e| anyhow::anyhow!("`{shown}`: {e}"))?;
    parse(&text, shown)
}

/// Parses the text of the metrics file `shown` (a path), its format told by
/// its extension.
pub fn parse(text: &str, shown: &str) -> anyhow::Result<Flat> {
    let extension = Path::new(shown)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let tree: Value = match extension.as_str() {
        "json" => serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("`{shown}` is not valid JSON: {e}"))?,
        "yaml" | "yml" => serde_saphyr::from_str(text)
            .map_err(|e| anyhow::anyhow!("`{shown}` is not valid YAML: {e}"))?,
        "toml" => {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| anyhow::anyhow!("`{shown}` is not valid TOML: {e}"))?;
            serde_json::to_value(table)?
        }
        "csv" => one_row(text, ',', shown)?,
        "tsv" => one_row(text, '\t', shown)?,
        _ => anyhow::bail!(
            "`{shown}`: metrics files are JSON, YAML, TOML, CSV or TSV (by their extension)"
        ),
    };
    let mut flat = Flat::new();
    flatten("", &tree, &mut flat);
    Ok(flat)
}

/// Adds `value`'s leaves to `flat`, their keys prefixed with `prefix`.
pub fn flatten(prefix: &str, value: &Value, flat: &mut Flat) {
    let key =
        |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    match value {
        Value::Object(map) => map.iter().for_each(|(name, v)| flatten(&key(name), v, flat)),
        Value::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| flatten(&key(&i.to_string()), v, flat));
        }
        leaf => {
            flat.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// Reads a header and one row of `separator`-separated cells into an object;
/// cells that are numbers become numbers.
fn one_row(text: &str, separator: char, shown: &str) -> anyhow::Result<Value> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let (Some(header), Some(row)) = (lines.next(), lines.next()) else {
        anyhow::bail!("`{shown}` needs a header line and a row of values");
    };
    let extra = lines.count();
    if extra > 0 {
        anyhow::bail!(
            "`{shown}` has {} rows; a metrics file has one (a series is a plot)",
            extra + 1
        );
    }
    let cells = |line: &str| -> Vec<String> {
        line.split(separator).map(|c| c.trim().trim_matches('"').to_owned()).collect()
    };
    let (names, values) = (cells(header), cells(row));
    if names.len() != values.len() {
        anyhow::bail!(
            "`{shown}` has {} columns in its header and {} in its row",
            names.len(),
            values.len()
        );
    }
    let object = names
        .into_iter()
        .zip(values)
        .map(|(name, value)| {
            let value = match value.parse::<f64>() {
                Ok(number) if number.is_finite() => serde_json::json!(number),
                _ => Value::String(value),
            };
            (name, value)
        })
        .collect();
    Ok(Value::Object(object))
}

/// Returns `value` as a table shows it: numbers with at most `precision`
/// decimals (whole numbers as they are), text as it is, null as `-`.
pub fn shown(value: &Value, precision: usize) -> String {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => {
            let number = n.as_f64().unwrap_or(f64::NAN);
            let mut text =
                quick_fixed(number, precision).unwrap_or_else(|| format!("{number:.precision$}"));
            if text.contains('.') {
                let kept = text.trim_end_matches('0').trim_end_matches('.').len();
                text.truncate(kept);
            }
            if text == "-0" { "0".to_owned() } else { text }
        }
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "-".to_owned(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// Returns `number` with `precision` decimals as `format!("{:.p$}")` does,
/// by integer arithmetic (a table of 10,000 runs formats its numbers many
/// times faster); `None` where that could differ from exact decimal rounding
/// (large values, and those within a hair of a tie), left to `format!`.
fn quick_fixed(number: f64, precision: usize) -> Option<String> {
    if precision > 9 || !number.is_finite() {
        return None;
    }
    let scale = 10u64.pow(precision as u32);
    let scaled = number.abs() * scale as f64;
    if scaled >= 1e9 || (scaled.fract() - 0.5).abs() < 1e-6 {
        return None;
    }
    let digits = scaled.round() as u64;
    let mut text = String::with_capacity(24);
    if number.is_sign_negative() {
        text.push('-');
    }
    push_digits(&mut text, digits / scale, 1);
    if precision > 0 {
        text.push('.');
        push_digits(&mut text, digits % scale, precision);
    }
    Some(text)
}

/// Appends `number` in decimal, with leading zeros to at least `width` digits.
fn push_digits(text: &mut String, mut number: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut start = digits.len();
    while number > 0 {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
    }
    let start = start.min(digits.len().saturating_sub(width));
    text.extend(digits[start..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(name: &str, text: &str) -> anyhow::Result<Flat> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs_err::write(&path, text).unwrap();
        read(&path, name)
    }

    #[test]
    fn every_format_flattens_to_dotted_keys_in_file_order() {
        let json = read_text("m.json", r#"{"f1": 0.8, "by": {"a": 1, "b": [2, 3]}}"#).unwrap();
        assert_eq!(json.keys().collect::<Vec<_>>(), ["f1", "by.a", "by.b.0", "by.b.1"]);
        let yaml = read_text("m.yaml", "loss: 0.25\nepoch:\n  best: 7\n").unwrap();
        assert_eq!(yaml["loss"], 0.25);
        assert_eq!(yaml["epoch.best"], 7);
        let toml = read_text("m.toml", "auc = 0.9\n[train]\nrows = 10\n").unwrap();
        assert_eq!(toml["train.rows"], 10);
        let csv = read_text("m.csv", "acc,name\n0.5,run a\n").unwrap();
        assert_eq!((csv["acc"].as_f64(), csv["name"].as_str()), (Some(0.5), Some("run a")));
        let tsv = read_text("m.tsv", "acc\tloss\n1\t2.5\n").unwrap();
        assert_eq!(tsv["loss"], 2.5);
    }

    #[test]
    fn bad_files_are_refused_with_their_name_and_why() {
        let error = |name, text| read_text(name, text).unwrap_err().to_string();
        assert!(error("m.json", "{oops").contains("`") && error("m.json", "{").contains("JSON"));
        assert!(error("m.csv", "a,b\n1,2\n3,4\n").contains("has 2 rows; a metrics file has one"));
        assert!(error("m.csv", "a,b\n1\n").contains("2 columns in its header and 1 in its row"));
        assert!(error("m.csv", "a,b\n").contains("needs a header line and a row"));
        assert!(error("m.txt", "1").contains("JSON, YAML, TOML, CSV or TSV"));
    }

    #[test]
    fn quick_formatting_matches_format_exactly() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let magnitude = 10f64.powi((state % 12) as i32 - 6);
            let mut number = (state >> 11) as f64 / (1u64 << 53) as f64 * magnitude;
            if i % 2 == 1 {
                number = -number;
            }
            if i % 7 == 0 {
                number = (number * 1000.0).round() / 1000.0 + 0.00005;
            }
            let precision = (state % 8) as usize;
            if let Some(quick) = quick_fixed(number, precision) {
                assert_eq!(quick, format!("{number:.precision$}"), "{number:e} at {precision}");
            }
        }
    }

    #[test]
    fn values_show_with_at_most_the_precision() {
        assert_eq!(shown(&serde_json::json!(0.123456789), 5), "0.12346");
        assert_eq!(shown(&serde_json::json!(0.5), 5), "0.5");
        assert_eq!(shown(&serde_json::json!(2.0), 3), "2");
        assert_eq!(shown(&serde_json::json!(12), 2), "12");
        assert_eq!(shown(&serde_json::json!(-0.0000001), 3), "0");
        assert_eq!(shown(&Value::Null, 3), "-");
        assert_eq!(shown(&serde_json::json!("best"), 3), "best");
    }
}
