//! pipeline.yaml: reading, templating, expansion and validation into a [`Pipeline`]
//! that the DAG and the executor can take as it is.
//!
//! Never prints: every problem comes back as a [`PipelineError`], all of them at once.

mod decode;
pub mod error;
mod expand;
pub mod params;
pub mod paths;
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
pub use source::{SourceFile, Span};
pub use stage::{Dep, DepPath, Out, OutKind, ParamDep, Stage};
pub use suggest::closest;

use yaml::Value;

/// The name of the pipeline file at the repository root.
pub const PIPELINE_FILE: &str = "pipeline.yaml";

/// A parsed, expanded and validated pipeline.
#[derive(Debug)]
pub struct Pipeline {
    /// The repository root (the folder of pipeline.yaml).
    pub root: PathBuf,
    /// pipeline.yaml itself, for diagnostics that point into it.
    pub file: SourceFile,
    /// Every stage after expansion, in file order.
    pub stages: Vec<Stage>,
}

const TOP_LEVEL_KEYS: &[&str] = &["stages", "vars"];

/// Reads `pipeline.yaml` under `root` and returns the validated pipeline, or every
/// error found.
pub fn load(root: &Path) -> Result<Pipeline, Vec<PipelineError>> {
    let path = root.join(PIPELINE_FILE);
    let text = fs_err::read_to_string(&path).map_err(|e| {
        let kind = ErrorKind::Read { path: PIPELINE_FILE.into(), reason: e.kind().to_string() };
        vec![PipelineError::unplaced(kind)]
    })?;
    let file = SourceFile::new(PIPELINE_FILE, path, text);
    let stages = parse(root, &file)?;
    Ok(Pipeline { root: root.to_path_buf(), file, stages })
}

/// Parses, expands and validates the text of a pipeline file.
pub fn parse(root: &Path, file: &SourceFile) -> Result<Vec<Stage>, Vec<PipelineError>> {
    let document = yaml::parse(file).map_err(|error| {
        let kind = ErrorKind::Syntax { message: error.message };
        vec![PipelineError::new(kind, file, error.span.unwrap_or_default())]
    })?;
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
    for (key, _) in entries.iter().filter(|(k, _)| !TOP_LEVEL_KEYS.contains(&k.name.as_str())) {
        errors.push(suggest::unknown_key(key, &format!("`{}`", file.name), TOP_LEVEL_KEYS, file));
    }
    let variables = vars::load(root, file, document.get("vars"), &mut errors);
    let mut params = params::ParamsFiles::default();
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
        for instance in expand::expand(name, body, &variables, file, &mut errors) {
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
    if errors.is_empty() { Ok(stages) } else { Err(deduplicate(errors)) }
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
