//! Source files of a pipeline (pipeline.yaml, params files) and byte spans into them.
//!
//! Owns the mapping from the YAML parser's locations to byte spans that miette can
//! underline; knows nothing about what the files mean.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// A byte range in a [`SourceFile`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// Returns a span of `len` bytes starting at `offset`.
    pub fn new(offset: usize, len: usize) -> Self {
        Self { offset, len }
    }
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> Self {
        SourceSpan::new(span.offset.into(), span.len)
    }
}

/// A file read from disk, shared by every diagnostic that points into it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the repository root).
    pub name: String,
    /// The path on disk.
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: Arc<String>,
}

impl SourceFile {
    /// Returns a source file named `name` holding `text`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, text: String) -> Self {
        Self { name: name.into(), path: path.into(), text: Arc::new(text) }
    }

    /// Returns the file in the form miette renders.
    pub fn named(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name.clone(), Arc::clone(&self.text)).with_language("yaml")
    }

    /// Returns the byte offset of a 1-based line and character column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let text = self.text.as_str();
        let line_start: usize =
            text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
        let rest = &text[line_start.min(text.len())..];
        let within: usize = rest
            .chars()
            .take_while(|c| *c != '\n')
            .take(column.saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        line_start + within
    }

    /// Returns the 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// Returns the text that `span` covers, or `None` when it is out of range.
    pub fn slice(&self, span: Span) -> Option<&str> {
        self.text.get(span.offset..span.offset + span.len)
    }
}

/// Why a pipeline or params file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    /// Reading failed (absent, a directory, no permission).
    Io(std::io::Error),
    /// The bytes are not UTF-8, first at this 1-based line and column.
    NotUtf8 { line: usize, column: usize },
}

/// Reads a whole file as UTF-8 text, saying where the first byte that is not
/// UTF-8 sits when it is not.
pub fn read_text(path: &std::path::Path) -> Result<String, ReadError> {
    let bytes = fs_err::read(path).map_err(ReadError::Io)?;
    String::from_utf8(bytes).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        ReadError::NotUtf8 { line, column }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_placed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        fs_err::write(&path, b"a: 1\nb: caf\xe9\n").unwrap();
        match read_text(&path) {
            Err(ReadError::NotUtf8 { line, column }) => assert_eq!((line, column), (2, 7)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offsets_and_line_columns_round_trip() {
        let file = SourceFile::new("p.yaml", "p.yaml", "a: 1\nbé: x\n".to_owned());
        let offset = file.offset_of(2, 5);
        assert_eq!(&file.text[offset..offset + 1], "x");
        assert_eq!(file.line_column(offset), (2, 5));
        assert_eq!(file.offset_of(9, 9), file.text.len());
    }
}
