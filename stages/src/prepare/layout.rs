//! The layout of a CSV file, checked before polars reads it: the header's
//! names must be unique and every record must have as many fields as the
//! header. Polars renames a repeated name (`x_duplicated_0`) and fills a short
//! record with missing values without a word, and words a long one in terms of
//! its own options; this check names the file, the line and what to do.
//!
//! It reads CSV as polars does by default: `,` between fields, `"` quoting a
//! field (`""` inside it is a quote), `\n` or `\r\n` ending a record, blank
//! lines skipped.

use std::path::Path;

use anyhow::bail;

/// One record's fields and the line it starts on (1 for the header).
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Fails when the header repeats a name or a record has the wrong number of fields.
pub fn check(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let text = String::from_utf8_lossy(bytes);
    let mut records = Records { text: text.trim_start_matches('\u{feff}'), line: 1 };
    let Some(header) = records.next() else { return Ok(()) };
    check_names(path, &header.fields)?;
    let expected = header.fields.len();
    for record in records {
        let found = record.fields.len();
        if found != expected {
            let (line, shown) = (record.line, path.display());
            let hint = if found < expected {
                "a missing value still needs its `,` (leave the field empty)"
            } else if record.fields[expected..].iter().all(String::is_empty) {
                "remove the `,` after its last field"
            } else {
                "a value holding a `,` needs double quotes around it"
            };
            bail!(
                "`{shown}` line {line} has {found} field{}, but its header has {expected}: {hint}",
                if found == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

/// Fails when a column name appears more than once, naming each repeated one.
fn check_names(path: &Path, names: &[String]) -> anyhow::Result<()> {
    let mut repeated: Vec<String> = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let positions: Vec<usize> =
            names.iter().enumerate().filter(|(_, n)| *n == name).map(|(i, _)| i + 1).collect();
        if positions.len() > 1 && positions[0] == index + 1 {
            let list: Vec<String> = positions.iter().map(ToString::to_string).collect();
            repeated.push(format!("`{name}` (columns {})", list.join(", ")));
        }
    }
    if repeated.is_empty() {
        return Ok(());
    }
    bail!(
        "`{}` has more than one column named {}: rename them so that every column has its own name",
        path.display(),
        repeated.join(", ")
    )
}

/// The records of CSV text, in order.
struct Records<'a> {
    text: &'a str,
    line: usize,
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        // Blank lines hold no record.
        while let Some(rest) = self.text.strip_prefix('\n').or(self.text.strip_prefix("\r\n")) {
            self.text = rest;
            self.line += 1;
        }
        if self.text.is_empty() {
            return None;
        }
        let record = Record { line: self.line, fields: self.fields() };
        Some(record)
    }
}

impl Records<'_> {
    /// Reads the fields of the record at the start of the text, and its end of line.
    fn fields(&mut self) -> Vec<String> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.text.char_indices().peekable();
        let mut quoted = false;
        let mut at_start = true;
        let mut end = self.text.len();
        while let Some((index, c)) = chars.next() {
            match c {
                '"' if at_start => quoted = true,
                '"' if quoted && chars.peek().is_some_and(|(_, next)| *next == '"') => {
                    field.push('"');
                    chars.next();
                }
                '"' if quoted => quoted = false,
                ',' if !quoted => {
                    fields.push(std::mem::take(&mut field));
                    at_start = true;
                    continue;
                }
                '\n' if !quoted => {
                    end = index + 1;
                    break;
                }
                '\n' => {
                    self.line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            at_start = false;
        }
        self.line += 1;
        if field.ends_with('\r') && end != self.text.len() {
            field.pop();
        }
        fields.push(field);
        self.text = &self.text[end..];
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        Records { text, line: 1 }.map(|r| (r.line, r.fields)).collect()
    }

    fn error(text: &str) -> String {
        check(Path::new("data.csv"), text.as_bytes())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn quotes_hold_separators_quotes_and_newlines() {
        let records = fields("a,b\r\n\"1,5\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",x\n");
        let expected =
            [(1, vec!["a", "b"]), (2, vec!["1,5", "say \"hi\""]), (4, vec!["two\nlines", "x"])];
        let expected: Vec<(usize, Vec<String>)> = expected
            .into_iter()
            .map(|(line, f)| (line, f.into_iter().map(String::from).collect()))
            .collect();
        assert_eq!(records, expected);
        assert_eq!(fields("a,,\n").last().unwrap().1.len(), 3, "empty fields count");
        assert!(check(Path::new("data.csv"), b"a,b\n1,2").is_ok(), "no final newline");
    }

    #[test]
    fn a_record_with_too_many_or_too_few_fields_is_named_by_its_line() {
        assert_eq!(
            error("x,y,label\n1,2,a\n\n3,4,b,extra\n"),
            "`data.csv` line 4 has 4 fields, but its header has 3: a value holding a `,` needs \
             double quotes around it"
        );
        assert!(
            error("x,y,label\n\"1\n2\",3,a\n3,b\n").starts_with("`data.csv` line 4 has 2 fields")
        );
        assert!(error("x,y\n1,2,\n").ends_with(
            "line 2 has 3 fields, but its header has 2: remove the `,` after its last field"
        ));
    }

    #[test]
    fn repeated_column_names_are_named() {
        assert_eq!(
            error("x,y,x,y,z\n1,2,3,4,5\n"),
            "`data.csv` has more than one column named `x` (columns 1, 3), `y` (columns 2, 4): \
             rename them so that every column has its own name"
        );
    }
}
