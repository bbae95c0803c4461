//! Diagnostics for pipeline files: what is wrong, where, and how to fix it.
//!
//! One [`PipelineError`] per mistake. Each carries its kind (data, not prepared
//! text), the file it points into and up to two labelled spans; miette renders it.

use miette::{Diagnostic, LabeledSpan, MietteSpanContents, Severity, SourceCode};
use std::fmt;
use thiserror::Error;

use super::source::{SourceFile, Span};

/// What is wrong with a pipeline.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ErrorKind {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("`{path}` is not UTF-8 (line {line}, column {column})")]
    NotUtf8 { path: String, line: usize, column: usize },
    #[error("`{stage}` expands to {count} stages, more than the limit of {limit}")]
    TooManyStages { stage: String, count: String, limit: usize },
    #[error("{what} `{path}` of stage `{stage}` is {reason}")]
    ProtectedOutput { what: &'static str, path: String, stage: String, reason: String },
    #[error(
        "{what} `{path}` of stage `{stage}` leads through the symbolic link `{link}` to `{target}`, outside the repository or into pipit's or git's own files"
    )]
    ThroughSymlink { what: &'static str, path: String, stage: String, link: String, target: String },
    #[error("{what} of stage `{stage}` is too long: {reason}")]
    PathTooLong { what: &'static str, stage: String, reason: String },
    #[error("invalid YAML: {message}")]
    Syntax { message: String },
    #[error("unknown key `{key}` in {place}")]
    UnknownKey { key: String, place: String, suggestion: Option<String> },
    #[error("unknown plot template `{name}`")]
    UnknownTemplate { name: String, suggestion: Option<String> },
    #[error("stage `{stage}` has no `cmd`")]
    MissingCmd { stage: String },
    #[error("stage `{stage}` has `{present}` but no `{missing}`")]
    MissingPart { stage: String, present: &'static str, missing: &'static str },
    #[error("{what} must be a mapping, not {found}")]
    NotAMapping { what: String, found: &'static str },
    #[error("`{key}` is not in `{file}`")]
    MissingVarsKey { key: String, file: String },
    #[error("output `{path}` of stage `{stage}` is the whole repository")]
    RootOutput { path: String, stage: String },
    #[error("`{key}` of {place} must be {expected}, not {found}")]
    WrongType { key: String, place: String, expected: &'static str, found: &'static str },
    #[error("`resources.{key}` of stage `{stage}` must be {expected}, not `{value}`")]
    BadResource { key: &'static str, stage: String, value: String, expected: &'static str },
    #[error("invalid stage name `{name}`")]
    InvalidStageName { name: String },
    #[error("stage `{name}` is defined twice")]
    DuplicateStage { name: String },
    #[error("`{path}` is listed twice in stage `{stage}`")]
    DuplicateOut { path: String, stage: String },
    #[error("output `{path}` of stage `{stage}` is also an output of stage `{other}`")]
    OutputConflict { path: String, stage: String, other: String },
    #[error("output `{path}` of stage `{stage}` lies inside output `{parent}` of stage `{other}`")]
    OutputNested { path: String, stage: String, parent: String, other: String },
    #[error("{what} `{path}` of stage `{stage}` is outside the repository")]
    OutsideRepository { what: &'static str, path: String, stage: String },
    #[error("`{key}` is not defined (used in {place})")]
    MissingVariable { key: String, place: String, suggestion: Option<String> },
    #[error("cannot interpolate {type_name} `{key}` into a string (in {place})")]
    NotAScalar { key: String, type_name: &'static str, place: String },
    #[error("invalid expression `${{{expression}}}` in {place}")]
    BadExpression { expression: String, place: String },
    #[error("unclosed `${{` in {place}")]
    UnclosedExpression { place: String },
    #[error("param `{key}` of stage `{stage}` is not in `{file}`")]
    MissingParam { key: String, file: String, stage: String },
    #[error("params file `{file}` of stage `{stage}` does not exist")]
    MissingParamsFile { file: String, stage: String },
    #[error("`{key}` from `{file}` is already defined by `{other}`")]
    VarsConflict { key: String, file: String, other: String },
    #[error("`{expression}` of stage `{stage}` must be {expected}, not {found}")]
    BadIteration {
        expression: &'static str,
        stage: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("the pipeline has a cycle: {}", cycle.join(" -> "))]
    Cycle { cycle: Vec<String> },
    #[error("dependency `{path}` of stage `{stage}` does not exist and no stage produces it")]
    MissingDependency { path: String, stage: String },
}

/// A mistake in a pipeline file, ready to render.
#[derive(Debug, Clone)]
pub struct PipelineError {
    /// What is wrong.
    pub kind: ErrorKind,
    /// The file it points into, if any.
    pub file: Option<SourceFile>,
    /// The primary span.
    pub span: Option<Span>,
    /// A second place involved (the other stage of a conflict), with its label.
    pub related: Option<(Span, String)>,
    /// Whether it stops the command or is only a warning.
    pub severity: Severity,
}

impl ErrorKind {
    /// Returns the `place` a template error names (`stage `train@a-x``).
    fn place_mut(&mut self) -> Option<&mut String> {
        match self {
            ErrorKind::MissingVariable { place, .. }
            | ErrorKind::NotAScalar { place, .. }
            | ErrorKind::BadExpression { place, .. }
            | ErrorKind::UnclosedExpression { place } => Some(place),
            _ => None,
        }
    }
}

/// How many stages a merged error names before it counts the rest.
const NAMED_STAGES: usize = 4;

/// Adds `error` to `errors`, or, when the same mistake at the same place of
/// the file is there already for another expanded stage, adds that stage's
/// name to it: one mistake in a 9-stage matrix is one error, naming them.
pub fn push_merged(errors: &mut Vec<PipelineError>, mut error: PipelineError) {
    let Some(place) = error.kind.place_mut().map(std::mem::take) else {
        errors.push(error);
        return;
    };
    let same = errors.iter_mut().find(|e| {
        let mut kind = e.kind.clone();
        kind.place_mut().map(std::mem::take);
        e.span == error.span && kind == error.kind
    });
    let Some(existing) = same else {
        if let Some(slot) = error.kind.place_mut() {
            *slot = place;
        }
        errors.push(error);
        return;
    };
    let (Some(theirs), Some((what, name))) =
        (existing.kind.place_mut(), place.rsplit_once("stage "))
    else {
        return;
    };
    let what = what.to_owned();
    // `stage `a``, or `stages `a`, `b``, or `stages `a`, `b`, `c`, `d` and 2 more`.
    let listed = match theirs.rsplit_once("stages ") {
        Some((_, listed)) => listed.to_owned(),
        None => theirs.rsplit_once("stage ").map(|(_, n)| n.to_owned()).unwrap_or_default(),
    };
    let (listed, more) = match listed.rsplit_once(" and ") {
        Some((names, count)) => {
            (names.to_owned(), count.strip_suffix(" more").and_then(|c| c.parse::<usize>().ok()))
        }
        None => (listed, None),
    };
    let mut names: Vec<&str> = listed.split(", ").collect();
    let more = match more {
        Some(count) => Some(count + 1),
        None if names.len() >= NAMED_STAGES => Some(1),
        None => {
            names.push(name);
            None
        }
    };
    let names = names.join(", ");
    *theirs = match more {
        Some(count) => format!("{what}stages {names} and {count} more"),
        None => format!("{what}stages {names}"),
    };
}

impl PipelineError {
    /// Returns an error of `kind` pointing at `span` in `file`.
    pub fn new(kind: ErrorKind, file: &SourceFile, span: Span) -> Self {
        Self {
            kind,
            file: Some(file.clone()),
            span: Some(span),
            related: None,
            severity: Severity::Error,
        }
    }

    /// Returns an error of `kind` with no place in a file.
    pub fn unplaced(kind: ErrorKind) -> Self {
        Self { kind, file: None, span: None, related: None, severity: Severity::Error }
    }

    /// Adds a second labelled place.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related = Some((span, label.into()));
        self
    }

    /// Turns the error into a warning.
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Returns `file:line:column` of the primary span, when there is one.
    pub fn location(&self) -> Option<String> {
        let (file, span) = (self.file.as_ref()?, self.span?);
        let (line, column) = file.line_column(span.offset);
        Some(format!("{}:{line}:{column}", file.name))
    }

    fn label(&self) -> String {
        match &self.kind {
            ErrorKind::UnknownKey { .. } => "unknown key".into(),
            ErrorKind::UnknownTemplate { .. } => "unknown template".into(),
            ErrorKind::MissingCmd { .. } => "this stage".into(),
            ErrorKind::WrongType { expected, .. } => format!("expected {expected}"),
            ErrorKind::DuplicateOut { .. } => "listed again here".into(),
            ErrorKind::OutputConflict { .. } | ErrorKind::OutputNested { .. } => {
                "this output".into()
            }
            ErrorKind::OutsideRepository { .. } | ErrorKind::ThroughSymlink { .. } => {
                "outside the repository".into()
            }
            ErrorKind::ProtectedOutput { .. } => "not an output".into(),
            ErrorKind::MissingVariable { .. } => "not found in params or vars".into(),
            ErrorKind::MissingParam { .. } => "no such key".into(),
            ErrorKind::Cycle { .. } => "this stage is part of the cycle".into(),
            ErrorKind::MissingDependency { .. } => "not found".into(),
            _ => "here".into(),
        }
    }

    /// Returns false when a line to show is too long for a snippet (miette cannot
    /// draw columns past 65,535; such a line is unreadable anyway).
    fn snippet_fits(&self) -> bool {
        const LONGEST: usize = 4_000;
        let Some(file) = &self.file else { return false };
        let spans = self.span.into_iter().chain(self.related.as_ref().map(|(s, _)| *s));
        spans.into_iter().all(|span| {
            let text = file.text.as_str();
            let start = text[..span.offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
            let end = span.offset + span.len;
            let stop = text
                .get(end.min(text.len())..)
                .and_then(|rest| rest.find('\n'))
                .map_or(text.len(), |i| end + i);
            stop.saturating_sub(start) <= LONGEST && span.len <= LONGEST
        })
    }

    /// Returns the text of the line the primary span starts on.
    fn line_text(&self) -> Option<&str> {
        let (file, span) = (self.file.as_ref()?, self.span?);
        let text = file.text.as_str();
        let start = text[..span.offset.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
        text[start..].lines().next()
    }

    fn help_text(&self) -> Option<String> {
        Some(match &self.kind {
            ErrorKind::Syntax { .. }
                if self.line_text().is_some_and(|l| l.contains('[') && l.contains("${")) =>
            {
                "a `${…}` inside a flow list `[…]` reads as a YAML mapping: write the list as \
                 `- item` lines, or quote the entry"
                    .into()
            }
            ErrorKind::RootOutput { .. } => "name a file or folder inside the repository".into(),
            ErrorKind::UnknownKey { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            ErrorKind::UnknownKey { suggestion: None, .. } => return None,
            ErrorKind::UnknownTemplate { suggestion, .. } => {
                let names = super::plot::Template::ALL.map(|(n, _)| format!("`{n}`")).join(", ");
                match suggestion {
                    Some(s) => format!("did you mean `{s}`? The templates are {names}"),
                    None => format!("the templates are {names}"),
                }
            }
            ErrorKind::MissingCmd { .. } => {
                "add the command to run, e.g. `cmd: python train.py`".into()
            }
            ErrorKind::OutputConflict { .. } => {
                "each file may be produced by one stage only".into()
            }
            ErrorKind::OutputNested { .. } => {
                "a stage may not write inside another stage's output; depend on it instead".into()
            }
            ErrorKind::OutsideRepository { .. } => {
                "outputs and working directories must lie inside the repository".into()
            }
            ErrorKind::MissingVariable { key, suggestion, .. } => {
                let near = suggestion.as_ref().map(|s| format!("did you mean `${{{s}}}`? "));
                let near = near.unwrap_or_default();
                match key.split(['.', '[']).next() {
                    Some(own @ ("item" | "key")) => format!(
                        "{near}`{own}` holds this stage's foreach or matrix entry: use one of its keys"
                    ),
                    _ => {
                        format!("{near}define it in `params.yaml` or in a file listed under `vars`")
                    }
                }
            }
            ErrorKind::MissingParam { file, .. } => format!("add the key to `{file}`"),
            ErrorKind::NotUtf8 { .. } => "save the file as UTF-8".into(),
            ErrorKind::TooManyStages { .. } => {
                "split the matrix, or raise the limit with `PIPIT_MAX_STAGES`".into()
            }
            ErrorKind::ProtectedOutput { .. } => {
                "a stage may not write pipit's or git's own files; choose another path".into()
            }
            ErrorKind::ThroughSymlink { .. } => {
                "pipit never writes or deletes through a link that leaves the repository; \
                 name the path inside the repository (a dependency may name a file outside \
                 the repository directly, by its own path)"
                    .into()
            }
            ErrorKind::PathTooLong { .. } => "no file system accepts a path this long".into(),
            ErrorKind::Cycle { .. } => {
                "a stage may not depend, even indirectly, on its own outputs".into()
            }
            ErrorKind::MissingDependency { .. } => {
                "create the file, fix the path, or add a stage that lists it in `outs`".into()
            }
            ErrorKind::InvalidStageName { .. } => {
                "use letters, digits, `-` and `_`; `@` is reserved for foreach/matrix".into()
            }
            ErrorKind::NotAScalar { .. } => {
                "only a `cmd` can take a mapping (as `--key value` flags)".into()
            }
            _ => return None,
        })
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for PipelineError {}

impl Diagnostic for PipelineError {
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let place = self.location().filter(|_| !self.snippet_fits()).map(|at| format!("at {at}"));
        let help = match (place, self.help_text()) {
            (Some(place), Some(help)) => Some(format!("{place}; {help}")),
            (place, help) => place.or(help),
        };
        help.map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.file.as_ref()?;
        self.snippet_fits().then_some(self as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.filter(|_| self.snippet_fits())?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(Some(self.label()), span)];
        if let Some((related, label)) = &self.related {
            labels.push(LabeledSpan::new_with_span(Some(label.clone()), *related));
        }
        Some(Box::new(labels.into_iter()))
    }
}

impl SourceCode for PipelineError {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let file = self.file.as_ref().ok_or(miette::MietteError::OutOfBounds)?;
        let contents = file.text.read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(
            MietteSpanContents::new_named(
                file.name.clone(),
                contents.data(),
                *contents.span(),
                contents.line(),
                contents.column(),
                contents.line_count(),
            )
            .with_language("yaml"),
        ))
    }
}
