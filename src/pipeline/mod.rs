//! pipeline.yaml: reading, templating, expansion and validation into a [`Pipeline`]
//! that the DAG and the executor can take as it is.
//!
//! Never prints: every problem comes back as a [`PipelineError`], all of them at once.

mod confine;
mod decode;
pub mod error;
mod expand;
pub mod params;
pub mod paths;
pub mod plot;
pub mod source;
pub mod stage;
mod suggest;
pub mod template;
mod validate;
pub mod vars;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use error::{ErrorKind, PipelineError};
pub use paths::RepoPath;
pub use plot::{PlotDefinition, PlotProperties, Template};
pub use source::{SourceFile, Span};
pub use stage::{Dep, DepPath, Out, OutKind, ParamDep, Resources, Stage};
pub use suggest::closest;

use yaml::Value;

/// The name of the pipeline file at the repository root.
pub const PIPELINE_FILE: &str = "pipeline.yaml";

/// DVC's pipeline file, read when there is no [`PIPELINE_FILE`]: a DVC
/// project runs with pipit as it is.
pub const DVC_FILE: &str = "dvc.yaml";

/// Returns the pipeline file of the repository at `root`: `pipeline.yaml`,
/// else `dvc.yaml` when only that exists.
pub fn file_in(root: &Path) -> &'static str {
    if !root.join(PIPELINE_FILE).exists() && root.join(DVC_FILE).is_file() {
        DVC_FILE
    } else {
        PIPELINE_FILE
    }
}

/// A parsed, expanded and validated pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// The repository root (the folder of pipeline.yaml).
    pub root: PathBuf,
    /// pipeline.yaml itself, for diagnostics that point into it.
    pub file: SourceFile,
    /// Every stage after expansion, in file order.
    pub stages: Vec<Stage>,
    /// The metrics files a `dvc.yaml` lists under its top-level `metrics`
    /// (relative to the root), besides the stages' own.
    pub metrics: Vec<String>,
    /// The top-level `plots:` entries: properties for the plots files that
    /// each path or glob matches.
    pub plots: Vec<PlotDefinition>,
}

impl Pipeline {
    /// Returns the metrics files the stages declare (`metrics:` outs), by
    /// path relative to the root, each once, in pipeline order; then those a
    /// `dvc.yaml` lists at its top level.
    pub fn metrics_files(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        let outs = self.stages.iter().flat_map(|s| &s.outs).filter(|o| o.kind == OutKind::Metric);
        for path in outs.map(|o| o.path.to_string()).chain(self.metrics.iter().cloned()) {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        paths
    }
}

const TOP_LEVEL_KEYS: &[&str] = &["stages", "vars", "plots"];

/// Top-level keys of dvc.yaml that list files for `dvc metrics`, `dvc plots`
/// and the like rather than stages: accepted there, and ignored.
const DVC_ONLY_KEYS: &[&str] = &["params", "metrics", "artifacts", "datasets"];

/// The most stages a pipeline may expand to unless told otherwise.
pub const DEFAULT_MAX_STAGES: usize = 100_000;

/// Bounds that keep a hostile pipeline from exhausting time or memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most stages after foreach/matrix expansion.
    pub max_stages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_stages: DEFAULT_MAX_STAGES }
    }
}

/// Reads the pipeline file under `root` (see [`file_in`]) and returns the
/// validated pipeline, or every error found.
pub fn load(root: &Path) -> Result<Pipeline, Vec<PipelineError>> {
    load_with(root, Limits::default())
}

/// Reads the pipeline file under `root` within `limits`.
pub fn load_with(root: &Path, limits: Limits) -> Result<Pipeline, Vec<PipelineError>> {
    let name = file_in(root);
    let path = root.join(name);
    let text =
        source::read_text(&path).map_err(|e| vec![PipelineError::unplaced(read_error(name, e))])?;
    let file = SourceFile::new(name, path, text);
    // Parsed once, for the stages and the top-level entries alike.
    let document = parse_yaml(&file)?;
    let stages = parse_document(root, &file, &document, limits)?;
    let metrics = if name == DVC_FILE { top_level_files(&document, "metrics") } else { Vec::new() };
    let mut errors = Vec::new();
    let plots = plot::top_level(&document, &file, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Pipeline { root: root.to_path_buf(), file, stages, metrics, plots })
}

/// Returns the paths `document` lists under its top-level `key` (a list of
/// strings, or of one-key mappings as DVC also writes them).
fn top_level_files(document: &yaml::Node, key: &str) -> Vec<String> {
    let Some(Value::List(items)) = document.get(key).map(|n| &n.value) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &item.value {
            Value::String(path) => Some(path.clone()),
            Value::Map(entries) if entries.len() == 1 => Some(entries[0].0.name.clone()),
            _ => None,
        })
        .collect()
}

/// Returns the error for a file that could not be read as text.
pub fn read_error(name: &str, error: source::ReadError) -> ErrorKind {
    match error {
        source::ReadError::Io(e) => {
            ErrorKind::Read { path: name.into(), reason: e.kind().to_string() }
        }
        source::ReadError::NotUtf8 { line, column } => {
            ErrorKind::NotUtf8 { path: name.into(), line, column }
        }
    }
}

/// Parses, expands and validates the text of a pipeline file.
pub fn parse(root: &Path, file: &SourceFile) -> Result<Vec<Stage>, Vec<PipelineError>> {
    parse_with(root, file, Limits::default())
}

/// Parses, expands and validates the text of a pipeline file within `limits`.
pub fn parse_with(
    root: &Path,
    file: &SourceFile,
    limits: Limits,
) -> Result<Vec<Stage>, Vec<PipelineError>> {
    parse_document(root, file, &parse_yaml(file)?, limits)
}

/// Parses the YAML of a pipeline file.
fn parse_yaml(file: &SourceFile) -> Result<yaml::Node, Vec<PipelineError>> {
    yaml::parse(file).map_err(|error| {
        let kind = ErrorKind::Syntax { message: error.message };
        vec![PipelineError::new(kind, file, error.span.unwrap_or_default())]
    })
}

/// Expands and validates the stages of a pipeline file's parsed `document`.
fn parse_document(
    root: &Path,
    file: &SourceFile,
    document: &yaml::Node,
    limits: Limits,
) -> Result<Vec<Stage>, Vec<PipelineError>> {
    let mut errors = Vec::new();
    let entries = match &document.value {
        Value::Map(entries) => entries.as_slice(),
        Value::Null => &[],
        other => {
            let kind = ErrorKind::NotAMapping {
                what: format!("`{}`", file.name),
                found: other.type_name(),
            };
            return Err(vec![PipelineError::new(kind, file, document.span)]);
        }
    };
    let dvc = file.name == DVC_FILE;
    let known = |key: &str| TOP_LEVEL_KEYS.contains(&key) || (dvc && DVC_ONLY_KEYS.contains(&key));
    for (key, _) in entries.iter().filter(|(k, _)| !known(k.name.as_str())) {
        errors.push(suggest::unknown_key(key, &format!("`{}`", file.name), TOP_LEVEL_KEYS, file));
    }
    let params_yaml = vars::read_yaml(root, "params.yaml");
    let variables = vars::load(root, file, &params_yaml, document.get("vars"), &mut errors);
    if !errors.is_empty() && errors.iter().any(|e| is_unreadable(&e.kind)) {
        // Every `${…}` and param would fail after this one; say it once.
        return Err(deduplicate(errors));
    }
    let mut params = params::ParamsFiles::with_params_yaml(params_yaml);
    let mut stages = Vec::new();
    let definitions = match document.get("stages").map(|s| &s.value) {
        Some(Value::Map(definitions)) => definitions.as_slice(),
        None | Some(Value::Null) => &[],
        Some(other) => {
            let kind = ErrorKind::WrongType {
                key: "stages".into(),
                place: format!("`{}`", file.name),
                expected: "a mapping of stage names to definitions",
                found: other.type_name(),
            };
            let span = document.get("stages").map_or(document.span, |s| s.span);
            errors.push(PipelineError::new(kind, file, span));
            &[]
        }
    };
    for (name, body) in definitions {
        if !valid_stage_name(&name.name) {
            let kind = ErrorKind::InvalidStageName { name: name.name.clone() };
            errors.push(PipelineError::new(kind, file, name.span));
            continue;
        }
        if !matches!(body.value, Value::Map(_)) {
            let kind = ErrorKind::WrongType {
                key: name.name.clone(),
                place: "`stages`".into(),
                expected: "a mapping",
                found: body.type_name(),
            };
            errors.push(PipelineError::new(kind, file, body.span));
            continue;
        }
        let budget = limits.max_stages.saturating_sub(stages.len());
        for instance in expand::expand(name, body, &variables, file, budget, &mut errors) {
            let mut decoder = decode::Decoder {
                root,
                file,
                variables: &variables,
                params: &mut params,
                errors: &mut errors,
            };
            stages.extend(decoder.decode(&instance));
        }
    }
    validate::unique_names(&stages, file, &mut errors);
    validate::outputs(&stages, file, &mut errors);
    confine::protected_outputs(&stages, &variables, file, &mut errors);
    confine::symlinks(root, &stages, file, &mut errors);
    if errors.is_empty() { Ok(stages) } else { Err(deduplicate(errors)) }
}

/// Returns true for errors that make a variables file unusable.
fn is_unreadable(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::Read { .. } | ErrorKind::NotUtf8 { .. } | ErrorKind::Syntax { .. })
}

/// Drops repeats: a mistake inside `do` is met once per foreach item.
fn deduplicate(errors: Vec<PipelineError>) -> Vec<PipelineError> {
    let mut seen = std::collections::HashSet::new();
    errors.into_iter().filter(|e| seen.insert((e.kind.to_string(), e.span))).collect()
}

fn valid_stage_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests;
