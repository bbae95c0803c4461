//! Repository-relative paths: lexical normalisation and containment checks.
//!
//! Pure path arithmetic, no file-system access: `a/./b/../c` is `a/c`, and a path
//! that climbs out of the repository is reported as such rather than resolved.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// A normalised path relative to the repository root, with `/` separators.
/// The root itself is the empty path.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

/// Where a path written in a pipeline lands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the repository.
    Inside(RepoPath),
    /// Outside it: an absolute, normalised path.
    Outside(PathBuf),
}

impl RepoPath {
    /// The repository root.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Returns a path from text that is already normalised (`a/b`, no `.`
    /// or `..`, no leading or trailing `/`).
    pub fn from_normalised(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// Returns the path as text (`""` for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns true when `self` is `other` or lies inside it.
    pub fn is_within(&self, other: &RepoPath) -> bool {
        other.0.is_empty()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// Returns the path on disk under `root`.
    pub fn to_path(&self, root: &Path) -> PathBuf {
        if self.0.is_empty() { root.to_path_buf() } else { root.join(&self.0) }
    }

    /// Returns the enclosing directories, nearest first, excluding the root.
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        let text = self.0.as_str();
        text.rmatch_indices('/').map(move |(i, _)| &text[..i])
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "." } else { &self.0 })
    }
}

/// Resolves `written`, relative to the directory `base` (itself relative to `root`).
pub fn resolve(root: &Path, base: &RepoPath, written: &str) -> Resolved {
    let written = Path::new(written);
    let mut parts: Vec<String> = Vec::new();
    let mut escaped = false;
    if written.is_absolute() {
        match written.strip_prefix(root) {
            Ok(inside) => push_components(&mut parts, inside, &mut escaped),
            Err(_) => return Resolved::Outside(normalise_absolute(written)),
        }
    } else {
        push_components(&mut parts, Path::new(base.as_str()), &mut escaped);
        push_components(&mut parts, written, &mut escaped);
    }
    if escaped {
        let absolute = normalise_absolute(&root.join(base.as_str()).join(written));
        return match absolute.strip_prefix(normalise_absolute(root)) {
            Ok(inside) => {
                let mut parts = Vec::new();
                push_components(&mut parts, inside, &mut false);
                Resolved::Inside(RepoPath(parts.join("/")))
            }
            Err(_) => Resolved::Outside(absolute),
        };
    }
    Resolved::Inside(RepoPath(parts.join("/")))
}

fn push_components(parts: &mut Vec<String>, path: &Path, escaped: &mut bool) {
    for component in path.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
            Component::ParentDir => {
                if parts.pop().is_none() {
                    *escaped = true;
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
}

/// Returns `path` with `.` and `..` removed by their text (no link is followed).
pub fn normalise_absolute(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(text: &str) -> Resolved {
        Resolved::Inside(RepoPath(text.to_owned()))
    }

    #[test]
    fn normalises_relative_paths_against_the_base() {
        let root = Path::new("/repo");
        let base = RepoPath("sub".into());
        assert_eq!(resolve(root, &RepoPath::root(), "./a/../b/c.csv"), inside("b/c.csv"));
        assert_eq!(resolve(root, &base, "x.csv"), inside("sub/x.csv"));
        assert_eq!(resolve(root, &base, "../x.csv"), inside("x.csv"));
        assert_eq!(resolve(root, &base, "/repo/d/e"), inside("d/e"));
        assert_eq!(resolve(root, &base, "."), inside("sub"));
        assert_eq!(resolve(root, &base, "../../repo/data"), inside("data"));
    }

    #[test]
    fn paths_that_escape_are_outside() {
        let root = Path::new("/repo");
        assert_eq!(
            resolve(root, &RepoPath::root(), "../x"),
            Resolved::Outside(PathBuf::from("/x"))
        );
        assert_eq!(
            resolve(root, &RepoPath::root(), "/data/raw"),
            Resolved::Outside(PathBuf::from("/data/raw"))
        );
    }

    #[test]
    fn containment_is_by_whole_components() {
        let data = RepoPath("data".into());
        assert!(RepoPath("data/x".into()).is_within(&data));
        assert!(data.is_within(&data));
        assert!(!RepoPath("database".into()).is_within(&data));
        let path = RepoPath("a/b/c".into());
        assert_eq!(path.ancestors().collect::<Vec<_>>(), ["a/b", "a"]);
    }
}
