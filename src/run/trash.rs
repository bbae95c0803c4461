//! The outs a stage's run replaces: moved out of the way at once (one rename
//! into `.cache/`, under a temporary name) and deleted on a thread of their
//! own while the stage runs. A pipit that dies first leaves them to the
//! sweep of temporary files that the next `repro` makes (see
//! [`crate::integrity::leftovers`]).

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
    /// The deleting thread, once started.
    deleter: Mutex<Option<(Sender<PathBuf>, JoinHandle<()>)>>,
}

impl Trash {
    /// Trash in `dot_cache`.
    pub fn new(dot_cache: &Path) -> Self {
        Self { dir: dot_cache.to_path_buf(), deleter: Mutex::default() }
    }

    /// Removes the file or folder at `path`, if any: moved aside now,
    /// deleted beside; deleted here when it cannot be moved (another file
    /// system) or no thread can delete it.
    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        let Some(name) = path.file_name() else {
            return remove_path(path);
        };
        let aside = self.dir.join(crate::fsutil::temporary_name(&name.to_string_lossy()));
        match fs_err::rename(path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !path.exists() => return Ok(()),
            Err(_) => return remove_path(path),
        }
        match self.send(aside) {
            Ok(()) => Ok(()),
            Err(aside) => remove_path(&aside),
        }
    }

    /// Hands `aside` to the deleting thread, started the first time; gives
    /// it back when there is none.
    fn send(&self, aside: PathBuf) -> Result<(), PathBuf> {
        let Ok(mut deleter) = self.deleter.lock() else {
            return Err(aside);
        };
        if deleter.is_none() {
            let (sender, receiver) = std::sync::mpsc::channel::<PathBuf>();
            let spawned = std::thread::Builder::new().name("pipit-trash".into()).spawn(move || {
                for aside in receiver {
                    // Left for the next sweep if it cannot be deleted.
                    let _ = remove_path(&aside);
                }
            });
            let Ok(thread) = spawned else {
                return Err(aside);
            };
            *deleter = Some((sender, thread));
        }
        match deleter.as_ref().map(|(sender, _)| sender.send(aside)) {
            Some(Ok(())) => Ok(()),
            Some(Err(unsent)) => Err(unsent.0),
            None => unreachable!("the deleter was just started"),
        }
    }

    /// Waits until everything moved aside is deleted.
    pub fn empty(&self) {
        let deleter = self.deleter.lock().ok().and_then(|mut deleter| deleter.take());
        if let Some((sender, thread)) = deleter {
            drop(sender);
            let _ = thread.join();
        }
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
            trash.remove(&dir.path().join(path)).unwrap();
            assert!(!dir.path().join(path).exists(), "{path}");
        }
        trash.empty();
        assert_eq!(fs_err::read_dir(&dot_cache).unwrap().count(), 0, "deleted from .cache");
        // Empty, it takes more.
        fs_err::write(dir.path().join("again"), "g").unwrap();
        trash.remove(&dir.path().join("again")).unwrap();
        trash.empty();
        assert_eq!(fs_err::read_dir(&dot_cache).unwrap().count(), 0);
    }

    #[test]
    fn what_cannot_be_moved_aside_is_deleted_in_place() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("file"), "f").unwrap();
        // No `.cache/` to move it into.
        let trash = Trash::new(&dir.path().join("missing/.cache"));
        trash.remove(&dir.path().join("file")).unwrap();
        assert!(!dir.path().join("file").exists());
        trash.empty();
    }
}
