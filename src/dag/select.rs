//! Choosing stages by target: a stage name, a foreach/matrix family, a glob such as
//! `train@*`, or a path that a stage produces.

use std::collections::BTreeSet;
use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use super::{Dag, Producers};
use crate::pipeline::paths::{self, Resolved};
use crate::pipeline::{Pipeline, RepoPath, closest};

/// A target that names no stage.
#[derive(Debug, Error, Diagnostic)]
#[error("no stage matches `{target}`")]
pub struct SelectError {
    /// What the user asked for.
    pub target: String,
    /// The closest stage or family name.
    #[help]
    pub help: Option<String>,
}

/// Which stages to take around a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The target and everything it needs.
    Upstream,
    /// The target and everything that depends on it.
    Downstream,
    /// The target alone.
    Single,
}

impl Dag {
    /// Returns the stages that `targets` name, widened per `selection`; every stage
    /// when `targets` is empty. `cwd` resolves path targets.
    pub fn select(
        &self,
        pipeline: &Pipeline,
        targets: &[String],
        selection: Selection,
        cwd: &Path,
    ) -> Result<BTreeSet<usize>, SelectError> {
        if targets.is_empty() {
            return Ok((0..pipeline.stages.len()).collect());
        }
        let mut named = BTreeSet::new();
        for target in targets {
            named.extend(matching(pipeline, target, cwd)?);
        }
        Ok(match selection {
            Selection::Upstream => self.upstream(&named),
            Selection::Downstream => self.downstream(&named),
            Selection::Single => named,
        })
    }
}

/// Returns the repository path a target written in `cwd` names, when it
/// names one inside the repository at `root`.
pub fn target_path(root: &Path, target: &str, cwd: &Path) -> Option<RepoPath> {
    let base = cwd.strip_prefix(root).map(|p| p.to_string_lossy().replace('\\', "/"));
    let base = match paths::resolve(root, &RepoPath::root(), &base.unwrap_or_default()) {
        Resolved::Inside(base) => base,
        Resolved::Outside(_) => RepoPath::root(),
    };
    match paths::resolve(root, &base, target) {
        Resolved::Inside(path) => Some(path),
        Resolved::Outside(_) => None,
    }
}

/// Returns the stages one target names.
fn matching(pipeline: &Pipeline, target: &str, cwd: &Path) -> Result<BTreeSet<usize>, SelectError> {
    let stages = &pipeline.stages;
    let by_name: BTreeSet<usize> = stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == target || s.family.as_deref() == Some(target))
        .map(|(i, _)| i)
        .collect();
    if !by_name.is_empty() {
        return Ok(by_name);
    }
    if target.contains(['*', '?', '['])
        && let Ok(pattern) = glob::Pattern::new(target)
    {
        let found: BTreeSet<usize> = stages
            .iter()
            .enumerate()
            .filter(|(_, s)| pattern.matches(&s.name))
            .map(|(i, _)| i)
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    if let Some(path) = target_path(&pipeline.root, target, cwd) {
        let found = Producers::new(stages).of(&path);
        if !found.is_empty() && !path.as_str().is_empty() {
            return Ok(found);
        }
    }
    let names = stages.iter().flat_map(|s| [Some(s.name.as_str()), s.family.as_deref()]).flatten();
    let help = closest(target, names).map(|name| format!("did you mean `{name}`?"));
    Err(SelectError { target: target.to_owned(), help })
}
