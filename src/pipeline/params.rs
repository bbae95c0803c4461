//! The params files that stages list under `params`, read once and looked up by key.

use std::collections::HashMap;
use std::path::Path;

use super::error::ErrorKind;
use super::paths::RepoPath;
use super::source::SourceFile;
use super::vars::read_yaml;
use super::yaml::{Node, Value};

/// Params files read so far, by path.
#[derive(Default)]
pub struct ParamsFiles {
    files: HashMap<RepoPath, Option<(SourceFile, Node)>>,
}

/// Why a param could not be looked up.
pub enum ParamError {
    /// The file does not exist.
    MissingFile,
    /// The file has no such key.
    MissingKey,
    /// The file cannot be read or parsed.
    Unreadable(ErrorKind),
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
        }
    }
}

impl ParamsFiles {
    /// Returns the value of `key` (dotted) in `file`, or the whole file for `None`.
    pub fn lookup(
        &mut self,
        root: &Path,
        file: &RepoPath,
        key: Option<&str>,
    ) -> Result<serde_json::Value, ParamError> {
        if !self.files.contains_key(file) {
            let loaded =
                read_yaml(root, file.as_str()).map_err(|e| ParamError::Unreadable(e.kind))?;
            self.files.insert(file.clone(), loaded);
        }
        let Some(Some((_, node))) = self.files.get(file) else {
            return Err(ParamError::MissingFile);
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
