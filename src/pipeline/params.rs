//! The params files that stages list under `params`, read once and looked up by key.

use std::collections::HashMap;
use std::path::Path;

use super::error::ErrorKind;
use super::paths::RepoPath;
use super::source::SourceFile;
use super::vars::read_yaml;
use super::yaml::{Node, Value};

/// What reading one params file gave.
enum Loaded {
    /// The file and its tree (`None`: the file does not exist).
    File(Option<(SourceFile, Node)>),
    /// It could not be read or parsed; the error was reported once already.
    Failed,
}

/// Params files read so far, by path: each is read and parsed once, however
/// many stages and keys refer to it.
#[derive(Default)]
pub struct ParamsFiles {
    files: HashMap<RepoPath, Loaded>,
}

/// Why a param could not be looked up.
pub enum ParamError {
    /// The file does not exist.
    MissingFile,
    /// The file has no such key.
    MissingKey,
    /// The file cannot be read or parsed.
    Unreadable(ErrorKind),
    /// The file cannot be read or parsed, and that was reported already.
    Reported,
}

impl ParamError {
    /// Returns the pipeline error for `stage`.
    pub fn for_stage(self, stage: &str, file: &RepoPath, key: Option<&str>) -> ErrorKind {
        match self {
            ParamError::MissingFile => {
                ErrorKind::MissingParamsFile { file: file.to_string(), stage: stage.into() }
            }
            ParamError::MissingKey => ErrorKind::MissingParam {
                key: key.unwrap_or_default().into(),
                file: file.to_string(),
                stage: stage.into(),
            },
            ParamError::Unreadable(kind) => kind,
            ParamError::Reported => unreachable!("a reported error is not reported again"),
        }
    }
}

impl ParamsFiles {
    /// Returns the cache with `params.yaml` already read (by the variables).
    pub fn with_params_yaml(
        params_yaml: Result<Option<(SourceFile, Node)>, Box<super::PipelineError>>,
    ) -> Self {
        let loaded = match params_yaml {
            Ok(file) => Loaded::File(file),
            Err(_) => Loaded::Failed,
        };
        Self { files: HashMap::from([(RepoPath::from_normalised("params.yaml"), loaded)]) }
    }

    /// Returns the value of `key` (dotted) in `file`, or the whole file for `None`.
    pub fn lookup(
        &mut self,
        root: &Path,
        file: &RepoPath,
        key: Option<&str>,
    ) -> Result<serde_json::Value, ParamError> {
        if !self.files.contains_key(file) {
            match read_yaml(root, file.as_str()) {
                Ok(loaded) => self.files.insert(file.clone(), Loaded::File(loaded)),
                Err(error) => {
                    self.files.insert(file.clone(), Loaded::Failed);
                    return Err(ParamError::Unreadable(error.kind));
                }
            };
        }
        let node = match self.files.get(file) {
            Some(Loaded::File(Some((_, node)))) => node,
            Some(Loaded::Failed) => return Err(ParamError::Reported),
            _ => return Err(ParamError::MissingFile),
        };
        let Some(key) = key else {
            return Ok(node.to_json());
        };
        let mut current = node;
        for part in key.split('.') {
            current = match &current.value {
                Value::Map(_) => current.get(part),
                Value::List(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
            .ok_or(ParamError::MissingKey)?;
        }
        Ok(current.to_json())
    }
}
