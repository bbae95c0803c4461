//! Checks that keep a pipeline inside its repository and off pipit's and
//! git's own files: an out may not be the cache, git's folder, the pipeline,
//! the lock or a params file (outs are deleted before their stage runs), and no
//! out, `wdir` or dep may lead outside the repository through a symbolic link.
//!
//! The only checks of the pipeline that look at the file system.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::error::{ErrorKind, PipelineError};
use super::paths::{RepoPath, Resolved, resolve};
use super::source::{SourceFile, Span};
use super::stage::{DepPath, Stage};
use super::vars::Variables;
use crate::containment::{PROTECTED_FOLDERS, symlink_escape_with};

/// Files pipit and git own at the repository root, and what they are.
const OWN_FILES: &[(&str, &str)] = &[
    (".cache", "pipit's cache"),
    (".git", "git's repository data"),
    (".gitignore", "git's ignore file, which pipit maintains"),
    ("pipeline.yaml", "the pipeline file"),
    ("dvc.yaml", "DVC's pipeline file"),
    ("dvc.lock", "DVC's lock file"),
    ("pipeline.lock", "pipit's lock file"),
];

/// Reports outs that are, or hold, pipit's or git's own files or a params or
/// vars file.
pub fn protected_outputs(
    stages: &[Stage],
    variables: &Variables,
    file: &SourceFile,
    errors: &mut Vec<PipelineError>,
) {
    let root = Path::new("");
    let mut params: Vec<RepoPath> = vec![RepoPath::from_normalised("params.yaml")];
    for name in variables.files() {
        if let Resolved::Inside(path) = resolve(root, &RepoPath::root(), name) {
            params.push(path);
        }
    }
    params.extend(stages.iter().flat_map(|s| s.params.iter().map(|p| p.file.clone())));
    params.sort();
    params.dedup();
    for stage in stages {
        for out in &stage.outs {
            if let Some(reason) = protected(&out.path, &params) {
                let kind = ErrorKind::ProtectedOutput {
                    what: "output",
                    path: out.path.to_string(),
                    stage: stage.name.clone(),
                    reason,
                };
                errors.push(PipelineError::new(kind, file, out.span));
            }
        }
    }
}

/// Returns why `out` may not be an output, if it may not. Names are
/// compared without case: on macOS and Windows `.GIT` is `.git`.
fn protected(out: &RepoPath, params: &[RepoPath]) -> Option<String> {
    let fold = |path: &RepoPath| RepoPath::from_normalised(&path.as_str().to_ascii_lowercase());
    let out_folded = fold(out);
    for (name, what) in OWN_FILES {
        let own = RepoPath::from_normalised(name);
        if out_folded.is_within(&own) {
            let inside = out_folded != own;
            return Some(if inside { format!("inside {what}") } else { (*what).to_owned() });
        }
    }
    let file = params.iter().find(|p| fold(p).is_within(&out_folded))?;
    Some(if fold(file) == out_folded {
        "a params file".to_owned()
    } else {
        format!("a folder that holds the params file `{file}`")
    })
}

/// Reports outs, working directories and deps whose path leads outside the
/// repository through a symbolic link.
pub fn symlinks(root: &Path, stages: &[Stage], file: &SourceFile, errors: &mut Vec<PipelineError>) {
    let canonical = fs_err::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let mut seen: HashMap<(String, bool), Option<(String, String)>> = HashMap::new();
    let mut folders = HashSet::new();
    let mut check = |what: &'static str, path: &RepoPath, stage: &Stage, span: Span| {
        if path.as_str().is_empty() {
            return;
        }
        // Only what pipit writes must stay out of `.git` and `.cache`.
        let writes = what != "dependency";
        let forbidden = if writes { PROTECTED_FOLDERS } else { &[] };
        let escape = seen
            .entry((path.as_str().to_owned(), writes))
            .or_insert_with(|| {
                symlink_escape_with(root, &canonical, path.as_str(), forbidden, &mut folders)
                    .map(|(link, target)| (link, target.display().to_string()))
            })
            .clone();
        if let Some((link, target)) = escape {
            let kind = ErrorKind::ThroughSymlink {
                what,
                path: path.to_string(),
                stage: stage.name.clone(),
                link,
                target,
            };
            errors.push(PipelineError::new(kind, file, span));
        }
    };
    for stage in stages {
        check("wdir", &stage.wdir, stage, stage.span);
        for dep in &stage.deps {
            if let DepPath::Repo(path) = &dep.path {
                check("dependency", path, stage, dep.span);
            }
        }
        for out in &stage.outs {
            check("output", &out.path, stage, out.span);
        }
    }
}
