//! The outs a stage's run replaces: moved out of the way at once (one rename
//! into `.cache/`, under a temporary name) and deleted on a thread of their
//! own while the stage runs. A pipit that dies first, or one that cannot
//! delete them (a read-only folder inside), leaves them to the sweep of
//! temporary files that the next `repro` makes (see
//! [`crate::integrity::leftovers`]); the latter says so.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use crate::cache::remove_path;

/// Where replaced outs go, and the thread deleting them.
#[derive(Debug)]
pub struct Trash {
    /// `.cache/`: on the workspace's file system, swept for leftovers.
    dir: PathBuf,
    /// The deleting thread, once started: it ends with what it could not
    /// delete, by stage, with why.
    deleter: Mutex<Option<(Sender<Aside>, JoinHandle<Undeleted>)>>,
}

/// An out moved aside: its stage and where it is.
type Aside = (String, PathBuf);

/// What could not be deleted: the stage of each, and why.
type Undeleted = Vec<(String, std::io::Error)>;

impl Trash {
    /// Trash in `dot_cache`.
    pub fn new(dot_cache: &Path) -> Self {
        Self { dir: dot_cache.to_path_buf(), deleter: Mutex::default() }
    }

    /// Removes the file or folder at `path`, an out of `stage`, if any:
    /// moved aside now, deleted beside; deleted here when it cannot be
    /// moved (another file system) or no thread can delete it.
    pub fn remove(&self, stage: &str, path: &Path) -> std::io::Result<()> {
        let Some(name) = path.file_name() else {
            return remove_path(path);
        };
        let aside = self.dir.join(crate::fsutil::temporary_name(&name.to_string_lossy()));
        match fs_err::rename(path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !path.exists() => return Ok(()),
            Err(_) => return remove_path(path),
        }
        match self.send((stage.to_owned(), aside)) {
            Ok(()) => Ok(()),
            Err((_, aside)) => remove_path(&aside),
        }
    }

    /// Hands `aside` to the deleting thread, started the first time; gives
    /// it back when there is none.
    fn send(&self, aside: Aside) -> Result<(), Aside> {
        let Ok(mut deleter) = self.deleter.lock() else {
            return Err(aside);
        };
        let (sender, _) = match deleter.as_mut() {
            Some(started) => started,
            None => {
                let (sender, receiver) = std::sync::mpsc::channel::<Aside>();
                let delete = move || -> Undeleted {
                    let undeleted =
                        |(stage, aside): Aside| Some((stage, remove_path(&aside).err()?));
                    receiver.into_iter().filter_map(undeleted).collect()
                };
                let spawned = std::thread::Builder::new().name("pipit-trash".into()).spawn(delete);
                let Ok(thread) = spawned else {
                    return Err(aside);
                };
                deleter.insert((sender, thread))
            }
        };
        sender.send(aside).map_err(|unsent| unsent.0)
    }

    /// Waits until everything moved aside is deleted; returns what could
    /// not be, by stage, with why.
    pub fn empty(&self) -> Undeleted {
        let deleter = self.deleter.lock().ok().and_then(|mut deleter| deleter.take());
        let Some((sender, thread)) = deleter else {
            return Vec::new();
        };
        drop(sender);
        thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_removed_is_gone_at_once_and_deleted_by_the_time_the_trash_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        fs_err::create_dir_all(&dot_cache).unwrap();
        fs_err::create_dir_all(dir.path().join("out/sub")).unwrap();
        fs_err::write(dir.path().join("out/sub/a"), "a").unwrap();
        fs_err::write(dir.path().join("file"), "f").unwrap();
        let trash = Trash::new(&dot_cache);
        for path in ["out", "file", "never-there"] {
            trash.remove("s", &dir.path().join(path)).unwrap();
            assert!(!dir.path().join(path).exists(), "{path}");
        }
        assert!(trash.empty().is_empty());
        assert_eq!(fs_err::read_dir(&dot_cache).unwrap().count(), 0, "deleted from .cache");
        // Empty, it takes more.
        fs_err::write(dir.path().join("again"), "g").unwrap();
        trash.remove("s", &dir.path().join("again")).unwrap();
        assert!(trash.empty().is_empty());
        assert_eq!(fs_err::read_dir(&dot_cache).unwrap().count(), 0);
    }

    #[test]
    fn what_cannot_be_deleted_is_named_by_its_stage() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let dot_cache = dir.path().join(".cache");
        fs_err::create_dir_all(dir.path().join("out/locked")).unwrap();
        fs_err::create_dir_all(&dot_cache).unwrap();
        fs_err::write(dir.path().join("out/locked/a"), "a").unwrap();
        let read_only = std::fs::Permissions::from_mode(0o555);
        fs_err::set_permissions(dir.path().join("out/locked"), read_only).unwrap();
        let trash = Trash::new(&dot_cache);
        trash.remove("make", &dir.path().join("out")).unwrap();
        assert!(!dir.path().join("out").exists());
        let left = trash.empty();
        // SAFETY: geteuid only reads the process's user id.
        if unsafe { libc::geteuid() } == 0 {
            assert!(left.is_empty(), "root deletes what the folder's mode forbids");
            return;
        }
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].0, "make");
        assert_eq!(left[0].1.kind(), std::io::ErrorKind::PermissionDenied, "{}", left[0].1);
        for entry in fs_err::read_dir(&dot_cache).unwrap() {
            let locked = entry.unwrap().path().join("locked");
            let writable = std::fs::Permissions::from_mode(0o755);
            fs_err::set_permissions(locked, writable).unwrap();
        }
    }

    #[test]
    fn what_cannot_be_moved_aside_is_deleted_in_place() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("file"), "f").unwrap();
        // No `.cache/` to move it into.
        let trash = Trash::new(&dir.path().join("missing/.cache"));
        trash.remove("s", &dir.path().join("file")).unwrap();
        assert!(!dir.path().join("file").exists());
        assert!(trash.empty().is_empty());
    }
}
