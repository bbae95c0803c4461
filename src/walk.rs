//! Every file under a folder, with its metadata: what hashing and caching a
//! folder out walk.
//!
//! Each file is looked up relative to its open folder (`statx` on the
//! folder's descriptor and the file's name) rather than by its full path,
//! which the kernel would walk again from the root for every file: on a
//! folder of small files that walk is most of the time spent.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};

/// A file found under the folder walked.
#[derive(Debug)]
pub struct File {
    /// Its path: the folder's joined with the names below it.
    pub path: PathBuf,
    /// Its metadata, symbolic links followed.
    pub metadata: Metadata,
}

/// A file found under the folder walked, its metadata not read unless the
/// walk needed it (see [`found_under`]).
#[derive(Debug)]
pub struct Found {
    /// Its path: the folder's joined with the names below it.
    pub path: PathBuf,
    /// Its metadata, for a file reached through a symbolic link; else
    /// `None`, to be read from the file once it is opened.
    pub metadata: Option<Metadata>,
}

impl From<File> for Found {
    fn from(File { path, metadata }: File) -> Self {
        Self { path, metadata: Some(metadata) }
    }
}

/// Every file under `dir`, depth first, each folder's entries in the order
/// of their names. Symbolic links are followed: a link to a file is that
/// file, a link to a folder is walked as a folder. Paths in errors are shown
/// relative to `root`.
pub fn files_under(dir: &Path, root: &Path) -> io::Result<Vec<File>> {
    let mut files = Vec::new();
    let metadata = |entry: &fs_err::DirEntry, path| Ok(File { path, metadata: entry.metadata()? });
    let linked = |path, metadata| File { path, metadata };
    walk(dir, root, &mut Vec::new(), &mut files, (&metadata, &linked))?;
    Ok(files)
}

/// The files under `dir` as [`files_under`] finds them, without reading the
/// metadata of those that are no links: whoever opens each file reads it
/// there, without the kernel looking the file up twice (most of the time
/// a folder of small files takes to read).
pub fn found_under(dir: &Path, root: &Path) -> io::Result<Vec<Found>> {
    let mut files = Vec::new();
    let unread = |_: &fs_err::DirEntry, path| Ok(Found { path, metadata: None });
    let linked = |path, metadata| Found { path, metadata: Some(metadata) };
    walk(dir, root, &mut Vec::new(), &mut files, (&unread, &linked))?;
    Ok(files)
}

/// What a walk makes of a file: one found in a folder, and one a symbolic
/// link leads to, with its metadata.
type Make<'m, T> =
    (&'m dyn Fn(&fs_err::DirEntry, PathBuf) -> io::Result<T>, &'m dyn Fn(PathBuf, Metadata) -> T);

fn walk<T>(
    dir: &Path,
    root: &Path,
    ancestors: &mut Vec<same_file::Handle>,
    files: &mut Vec<T>,
    make: Make<'_, T>,
) -> io::Result<()> {
    let fail = |path: &Path, reason: &dyn std::fmt::Display| {
        let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
        io::Error::other(format!("`{shown}` {reason}"))
    };
    let mut entries = fs_err::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    // Each name copied once: `file_name` allocates, and a sort by key would
    // call it twice a comparison.
    entries.sort_by_cached_key(|entry| entry.file_name());
    ancestors.push(same_file::Handle::from_path(dir).map_err(|e| fail(dir, &e))?);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_file() {
            // Any metadata read relative to the folder's descriptor.
            files.push(make.0(&entry, path)?);
        } else if kind.is_dir() {
            walk(&path, root, ancestors, files, make)?;
        } else if kind.is_symlink() {
            let metadata = match fs_err::metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(fail(&path, &"is a symbolic link to nothing"));
                }
                Err(e) => return Err(fail(&path, &e)),
                Ok(metadata) => metadata,
            };
            if metadata.is_dir() {
                let target = same_file::Handle::from_path(&path).map_err(|e| fail(&path, &e))?;
                if ancestors.contains(&target) {
                    return Err(fail(
                        &path,
                        &"is a symbolic link that loops back to a folder above it",
                    ));
                }
                walk(&path, root, ancestors, files, make)?;
            } else if metadata.is_file() {
                files.push(make.1(path, metadata));
            }
        }
    }
    ancestors.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_in_name_order_and_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(data.join("b")).unwrap();
        fs_err::write(data.join("c.csv"), "c").unwrap();
        fs_err::write(data.join("a.csv"), "aa").unwrap();
        fs_err::write(data.join("b/inner"), "bbb").unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs_err::create_dir_all(&elsewhere).unwrap();
        fs_err::write(elsewhere.join("far"), "dddd").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&elsewhere, data.join("d")).unwrap();
        let files = files_under(&data, dir.path()).unwrap();
        let found: Vec<(String, u64)> = files
            .iter()
            .map(|f| (f.path.strip_prefix(&data).unwrap().display().to_string(), f.metadata.len()))
            .collect();
        let mut expected = vec![("a.csv", 2), ("b/inner", 3), ("c.csv", 1)];
        if cfg!(unix) {
            expected.push(("d/far", 4));
        }
        let expected: Vec<(String, u64)> =
            expected.into_iter().map(|(p, n)| (p.to_owned(), n)).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn found_files_are_the_walked_ones_with_the_metadata_of_links_alone() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(data.join("b")).unwrap();
        for (name, bytes) in [("c.csv", "c"), ("a.csv", "aa"), ("b/inner", "bbb")] {
            fs_err::write(data.join(name), bytes).unwrap();
        }
        fs_err::write(dir.path().join("far"), "dddd").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("far"), data.join("d")).unwrap();
        let walked: Vec<PathBuf> =
            files_under(&data, dir.path()).unwrap().into_iter().map(|f| f.path).collect();
        let found = found_under(&data, dir.path()).unwrap();
        assert_eq!(found.iter().map(|f| f.path.clone()).collect::<Vec<_>>(), walked);
        for file in &found {
            let linked = file.path.ends_with("d");
            assert_eq!(file.metadata.as_ref().map(Metadata::len), linked.then_some(4), "{file:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_nothing_or_back_up_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(data.join("sub")).unwrap();
        std::os::unix::fs::symlink(&data, data.join("sub/up")).unwrap();
        let error = files_under(&data, dir.path()).unwrap_err().to_string();
        assert_eq!(error, "`data/sub/up` is a symbolic link that loops back to a folder above it");
        fs_err::remove_file(data.join("sub/up")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("none"), data.join("gone")).unwrap();
        let error = files_under(&data, dir.path()).unwrap_err().to_string();
        assert_eq!(error, "`data/gone` is a symbolic link to nothing");
    }
}
