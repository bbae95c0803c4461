//! The repository lock (`.cache/lock`): one `repro` (or `checkout`, `gc`) at a
//! time. An advisory file lock (`flock`) that the kernel releases when its holder dies,
//! with the holder's PID written inside so that others can say who they wait
//! for, and so that a lock left by a dead process is taken over with a warning.

use std::io::{Read, Seek, Write};
use std::path::Path;

use std::fs::TryLockError;

/// A held repository lock; released on drop.
#[derive(Debug)]
pub struct RepoLock {
    file: std::fs::File,
}

/// What happened while taking the lock, for the caller to report.
#[derive(Debug, PartialEq, Eq)]
pub enum LockNotice {
    /// Another pipit holds the lock; we are waiting for it (its PID, when it
    /// has written it yet).
    Waiting { pid: Option<u32> },
    /// The previous holder died without releasing it; we took it over.
    TookOver { pid: u32 },
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum RepoLockError {
    /// Another pipit holds it and we were told not to wait.
    #[error("another pipit{} is running in this repository", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { pid: Option<u32> },
    /// The lock file could not be opened or locked.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl RepoLock {
    /// Takes the lock of the repository whose `.cache/` is `dot_cache`, waiting
    /// for another holder unless `wait` is false; `notice` hears about waiting
    /// and take-overs.
    pub fn acquire(
        dot_cache: &Path,
        wait: bool,
        notice: &dyn Fn(LockNotice),
    ) -> Result<Self, RepoLockError> {
        fs_err::create_dir_all(dot_cache)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dot_cache.join("lock"))?;
        let taken = match file.try_lock() {
            Ok(()) => true,
            Err(TryLockError::WouldBlock) => false,
            Err(TryLockError::Error(e)) => return Err(e.into()),
        };
        if !taken {
            let pid = holder_pid(&mut file);
            if !wait {
                return Err(RepoLockError::Busy { pid });
            }
            notice(LockNotice::Waiting { pid });
            file.lock()?;
        } else if let Some(pid) =
            read_pid(&mut file).filter(|&pid| pid != std::process::id() && pid != 0)
        {
            notice(LockNotice::TookOver { pid });
        }
        // Not flushed to disk: the PID only names the holder to the others,
        // and no process holds the lock after a power cut. Flushed, every
        // `repro` forced a commit of the file system's journal first.
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        Ok(Self { file })
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Returns the PID the holder wrote, giving it a moment to write it: a holder
/// that has just taken the lock has not written its PID yet.
fn holder_pid(file: &mut std::fs::File) -> Option<u32> {
    for _ in 0..20 {
        if let Some(pid) = read_pid(file).filter(|&pid| pid != 0) {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    None
}

fn read_pid(file: &mut std::fs::File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_a_dead_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let first = RepoLock::acquire(dir.path(), false, &|_| {}).unwrap();
        let busy = RepoLock::acquire(dir.path(), false, &|_| {}).unwrap_err();
        assert!(
            matches!(busy, RepoLockError::Busy { pid: Some(pid) } if pid == std::process::id())
        );
        drop(first);
        fs_err::write(dir.path().join("lock"), "999999999").unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let _again =
            RepoLock::acquire(dir.path(), false, &|n| seen.lock().unwrap().push(n)).unwrap();
        assert_eq!(*seen.lock().unwrap(), [LockNotice::TookOver { pid: 999_999_999 }]);
    }

    #[test]
    fn a_holder_that_has_not_written_its_pid_yet_is_never_called_pid_0() {
        let dir = tempfile::tempdir().unwrap();
        let _first = RepoLock::acquire(dir.path(), false, &|_| {}).unwrap();
        fs_err::write(dir.path().join("lock"), "").unwrap();
        let busy = RepoLock::acquire(dir.path(), false, &|_| {}).unwrap_err();
        assert!(matches!(busy, RepoLockError::Busy { pid: None }), "{busy:?}");
        assert_eq!(busy.to_string(), "another pipit is running in this repository");
    }
}
