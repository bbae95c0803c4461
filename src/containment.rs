//! Keeping pipit's writes inside the repository. Paths that come from files
//! pipit reads back (the lock, run-cache entries, directory manifests) must be
//! plain relative paths; a path whose folders reach outside the repository
//! through a symbolic link is never written to or deleted.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Folders under the root that pipit never writes through a link into.
pub const PROTECTED_FOLDERS: &[&str] = &[".git", ".cache"];

/// The longest path pipit accepts, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;
/// The most components a path may have.
pub const MAX_PATH_COMPONENTS: usize = 256;

/// A path pipit refuses to write through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not a plain relative path (`..`, absolute, empty component).
    #[error("`{path}` is not a plain relative path inside the repository ({why})")]
    NotRelative { path: String, why: &'static str },
    /// A folder on the way is a symbolic link to a place outside the repository.
    #[error(
        "`{path}` leads through the symbolic link `{link}` to `{}`, outside the repository or into pipit's or git's own files",
        target.display()
    )]
    ThroughSymlink { path: String, link: String, target: PathBuf },
    /// Longer than any file system allows.
    #[error("`{}…` is too long ({bytes} bytes, {components} components)", truncate(path))]
    TooLong { path: String, bytes: usize, components: usize },
}

fn truncate(path: &str) -> &str {
    let mut end = path.len().min(60);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// Refuses a path longer than [`MAX_PATH_BYTES`] or with more than
/// [`MAX_PATH_COMPONENTS`] components, before anything looks at its parts.
pub fn check_size(path: &str) -> Result<(), PathError> {
    let components = path.bytes().filter(|&b| b == b'/').count() + 1;
    if path.len() > MAX_PATH_BYTES || components > MAX_PATH_COMPONENTS {
        return Err(PathError::TooLong { path: path.into(), bytes: path.len(), components });
    }
    Ok(())
}

/// Checks that `path` (with `/` separators) is relative and made only of
/// ordinary names: no `..`, no `.`, no empty component, no root.
pub fn check_relative(path: &str) -> Result<(), PathError> {
    check_size(path)?;
    let refuse = |why| Err(PathError::NotRelative { path: path.into(), why });
    if path.is_empty() {
        return refuse("empty");
    }
    if path.contains('\0') {
        return refuse("contains a NUL byte");
    }
    if path.starts_with('/') || Path::new(path).is_absolute() {
        return refuse("absolute");
    }
    for part in path.split('/') {
        match part {
            "" => return refuse("empty component"),
            "." | ".." => return refuse("`.` or `..` component"),
            _ => {}
        }
    }
    if Path::new(path).components().any(|c| !matches!(c, Component::Normal(_))) {
        return refuse("not an ordinary name");
    }
    Ok(())
}

/// Returns the symbolic link (relative path) and where it leads when a
/// component of `relative` under `root` is a link to a place outside
/// `canonical_root` or inside one of `forbidden` (folders under the root,
/// such as `.git`); `None` when every existing component stays allowed.
/// Components that do not exist yet cannot be links and end the walk.
pub fn symlink_escape(
    root: &Path,
    canonical_root: &Path,
    relative: &str,
    forbidden: &[&str],
) -> Option<(String, PathBuf)> {
    symlink_escape_with(root, canonical_root, relative, forbidden, &mut HashSet::new())
}

/// [`symlink_escape`] for many paths: `folders` holds the folders already
/// found to be folders, not links (each is looked at once).
pub fn symlink_escape_with(
    root: &Path,
    canonical_root: &Path,
    relative: &str,
    forbidden: &[&str],
    folders: &mut HashSet<PathBuf>,
) -> Option<(String, PathBuf)> {
    let mut current = root.to_path_buf();
    let mut shown = String::new();
    for part in relative.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !shown.is_empty() {
            shown.push('/');
        }
        shown.push_str(part);
        current.push(part);
        if folders.contains(&current) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&current).ok()?;
        if meta.is_dir() {
            folders.insert(current.clone());
        }
        if !meta.file_type().is_symlink() {
            continue;
        }
        let target = std::fs::canonicalize(&current).unwrap_or_else(|_| dangling_target(&current));
        let into_forbidden = forbidden.iter().any(|f| target.starts_with(canonical_root.join(f)));
        if !target.starts_with(canonical_root) || into_forbidden {
            return Some((shown, target));
        }
        current = target;
    }
    None
}

/// Where a link that points at nothing would lead, resolved by its text.
fn dangling_target(link: &Path) -> PathBuf {
    let written = std::fs::read_link(link).unwrap_or_default();
    let parent = link.parent().unwrap_or(Path::new("/"));
    let base = std::fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    crate::pipeline::paths::normalise_absolute(&base.join(written))
}

/// Checks `relative` before pipit writes or deletes it under `root`.
pub fn check_writable(root: &Path, canonical_root: &Path, relative: &str) -> Result<(), PathError> {
    check_relative(relative)?;
    match symlink_escape(root, canonical_root, relative, PROTECTED_FOLDERS) {
        None => Ok(()),
        Some((link, target)) => {
            Err(PathError::ThroughSymlink { path: relative.into(), link, target })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_pass() {
        for good in ["a", "a/b.csv", "data/x y/z", ".hidden/f"] {
            assert_eq!(check_relative(good), Ok(()), "{good}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\0b"] {
            assert!(check_relative(bad).is_err(), "{bad:?}");
        }
        let deep = vec!["a"; MAX_PATH_COMPONENTS + 1].join("/");
        assert!(matches!(check_relative(&deep), Err(PathError::TooLong { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_outside_is_found_and_one_inside_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, outside) = (dir.path().join("repo"), dir.path().join("outside"));
        fs_err::create_dir_all(repo.join("data")).unwrap();
        fs_err::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("out")).unwrap();
        std::os::unix::fs::symlink("data", repo.join("inside")).unwrap();
        std::os::unix::fs::symlink("../outside/gone", repo.join("dangling")).unwrap();
        let canonical = fs_err::canonicalize(&repo).unwrap();
        let escape = symlink_escape(&repo, &canonical, "out/x.txt", &[]).unwrap();
        assert_eq!(escape.0, "out");
        assert_eq!(escape.1, fs_err::canonicalize(&outside).unwrap());
        assert_eq!(symlink_escape(&repo, &canonical, "inside/x.txt", &[]), None);
        assert_eq!(symlink_escape(&repo, &canonical, "new/dir/x.txt", &[]), None);
        assert_eq!(symlink_escape(&repo, &canonical, "dangling", &[]).unwrap().0, "dangling");
        assert_eq!(
            symlink_escape(&repo, &canonical, "inside/x.txt", &["data"]).unwrap().0,
            "inside"
        );
    }

    #[cfg(unix)]
    #[test]
    fn folders_looked_at_once_still_lead_to_the_links_below_them() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, outside) = (dir.path().join("repo"), dir.path().join("outside"));
        fs_err::create_dir_all(repo.join("data/deep")).unwrap();
        fs_err::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("data/deep/out")).unwrap();
        std::os::unix::fs::symlink("deep", repo.join("data/inside")).unwrap();
        let canonical = fs_err::canonicalize(&repo).unwrap();
        let mut folders = HashSet::new();
        let mut escape = |path: &str| {
            symlink_escape_with(&repo, &canonical, path, &[], &mut folders).map(|e| e.0)
        };
        assert_eq!(escape("data/deep/a.csv"), None);
        assert_eq!(escape("data/deep/out/b.csv").as_deref(), Some("data/deep/out"));
        assert_eq!(escape("data/inside/out/c.csv").as_deref(), Some("data/inside/out"));
        assert_eq!(escape("data/inside/d.csv"), None);
        assert!(folders.contains(&repo.join("data/deep")), "{folders:?}");
        assert!(!folders.contains(&repo.join("data/inside")), "a link is never taken as a folder");
    }
}
