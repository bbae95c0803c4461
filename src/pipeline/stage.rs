//! The typed, expanded, validated stage: what the DAG and the executor work with.

use std::path::PathBuf;

use serde::Serialize;

use super::paths::RepoPath;
use super::source::Span;

/// One runnable stage after foreach/matrix expansion and interpolation.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    /// The full name: `train`, `generate@housing`, `train@churn-forest`.
    pub name: String,
    /// The foreach/matrix family the stage was expanded from (`train`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The commands, run one after another through `sh -c` in `wdir`.
    pub cmd: Vec<String>,
    /// The working directory, relative to the repository root.
    pub wdir: RepoPath,
    /// The files and directories the stage reads.
    pub deps: Vec<Dep>,
    /// The parameters the stage reads, with their current values.
    pub params: Vec<ParamDep>,
    /// The files and directories the stage writes (outs, metrics and plots).
    pub outs: Vec<Out>,
    /// A frozen stage never runs.
    pub frozen: bool,
    /// An always-changed stage runs every time.
    pub always_changed: bool,
    /// A description for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    /// Where the stage is defined in pipeline.yaml (its name).
    #[serde(skip)]
    pub span: Span,
}

/// A dependency of a stage.
#[derive(Clone, Debug, Serialize)]
pub struct Dep {
    /// Where it is.
    pub path: DepPath,
    /// Where it is written in pipeline.yaml.
    #[serde(skip)]
    pub span: Span,
}

/// Where a dependency lies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DepPath {
    /// Inside the repository.
    Repo(RepoPath),
    /// Outside it (external data): hashed, never cached.
    External(PathBuf),
}

/// What kind of output a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutKind {
    /// Listed under `outs`.
    Out,
    /// Listed under `metrics`.
    Metric,
    /// Listed under `plots`.
    Plot,
}

/// An output of a stage.
#[derive(Clone, Debug, Serialize)]
pub struct Out {
    /// The path, relative to the repository root.
    pub path: RepoPath,
    /// Which list it comes from.
    pub kind: OutKind,
    /// Whether it is stored in the cache.
    pub cache: bool,
    /// Whether it survives the start of a run.
    pub persist: bool,
    /// How a plots out is drawn (`None` for outs and metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot: Option<super::plot::PlotProperties>,
    /// Where it is written in pipeline.yaml.
    #[serde(skip)]
    pub span: Span,
}

/// The parameters a stage reads from one params file.
#[derive(Clone, Debug, Serialize)]
pub struct ParamDep {
    /// The params file, relative to the repository root.
    pub file: RepoPath,
    /// Each key with its current value; the whole file is one entry with key `""`.
    pub values: indexmap::IndexMap<String, serde_json::Value>,
}

impl Stage {
    /// Returns the dependencies that lie inside the repository.
    pub fn repo_deps(&self) -> impl Iterator<Item = (&RepoPath, &Dep)> {
        self.deps.iter().filter_map(|dep| match &dep.path {
            DepPath::Repo(path) => Some((path, dep)),
            DepPath::External(_) => None,
        })
    }
}

impl std::fmt::Display for DepPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DepPath::Repo(path) => path.fmt(f),
            DepPath::External(path) => path.display().fmt(f),
        }
    }
}
