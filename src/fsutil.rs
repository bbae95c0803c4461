//! File-system helpers shared by the engine: atomic replacement of small files,
//! temporary files that never outlive a failure, and recognising the temporary
//! files a killed pipit left behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes` atomically: a temporary file in the same folder
/// is written, flushed to disk and renamed over `path`, so a crash leaves either
/// the old file or the new one, never a mix. On failure (a full disk) the
/// temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let temp = TempFile::beside(path);
    {
        let mut file = fs_err::File::create(temp.path())?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    temp.persist(path)?;
    if let Ok(dir) = fs_err::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically, as [`write_atomic`] does, but
/// without waiting for the disk: for a cache's entries, which a reader that
/// finds one empty or unreadable (after a power cut) treats as absent. A
/// crash of pipit itself (kill -9) still leaves the old file or the new one.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let temp = TempFile::beside(path);
    fs_err::write(temp.path(), bytes)?;
    temp.persist(path)
}

/// How much [`copy_hashing`] copies before the bytes are handed to the hash.
const COPIED_AT_A_TIME: u64 = 8 << 20;

/// Copies the file `from` to the new file `to` and returns the BLAKE3 hash
/// of the bytes written to `to`, read back from it (what was written, not
/// what was meant to be). The hash follows the copy a piece at a time on a
/// second thread, so the two take about as long as the slower of them, not
/// both together. At most the size `from` had when opened is copied; a
/// source that ends sooner is an error (one that changed otherwise is for
/// the caller to notice: its hash or its metadata moved). Unix: elsewhere a
/// file cannot be mapped beyond its end.
pub fn copy_hashing(from: &Path, to: &Path) -> std::io::Result<String> {
    let source = fs_err::File::open(from)?;
    let size = source.metadata()?.len();
    let target = fs_err::OpenOptions::new().read(true).write(true).create_new(true).open(to)?;
    let length = usize::try_from(size).map_err(std::io::Error::other)?;
    let whole = |copied: u64| {
        if copied == size {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("`{}` gave {copied} of its {size} bytes", from.display()),
            ))
        }
    };
    // Copied first and read back after: where there is nothing to map (an
    // empty file), no room to map it, or no thread to hash beside the copy.
    let plainly = || -> std::io::Result<String> {
        whole(copy_range(&source, &target, size, &mut |_| {})?)?;
        Ok(crate::hash::hash_file(to)?.0)
    };
    // SAFETY: only the bytes already written to `target` are read through
    // the map, and nothing else writes to or truncates this new file: its
    // name is this process's own temporary name, or a name nothing else had.
    let map = match length {
        0 => None,
        _ => unsafe { memmap2::MmapOptions::new().len(length).map(target.file()) }.ok(),
    };
    let Some(map) = map else {
        return plainly();
    };
    let (copied_to, copies) = std::sync::mpsc::channel::<usize>();
    let hash = move || {
        let mut hasher = blake3::Hasher::new();
        let mut hashed = 0;
        for copied in copies {
            // SAFETY: bytes `hashed..copied` are within the map, written,
            // and never written again; the pages after them may be being
            // written, so no slice covers those.
            let piece =
                unsafe { std::slice::from_raw_parts(map.as_ptr().add(hashed), copied - hashed) };
            hasher.update(piece);
            hashed = copied;
        }
        hasher.finalize().to_hex().to_string()
    };
    std::thread::scope(|scope| {
        let Ok(hashing) =
            std::thread::Builder::new().name("pipit-hash".into()).spawn_scoped(scope, hash)
        else {
            return plainly();
        };
        let copied = copy_range(&source, &target, size, &mut |copied| {
            // A hash that stopped early only ends sooner; its result is unused then.
            let _ = copied_to.send(usize::try_from(copied).unwrap_or(length).min(length));
        });
        drop(copied_to);
        let hash = hashing.join().map_err(|_| std::io::Error::other("hashing a copy panicked"))?;
        whole(copied?)?;
        Ok(hash)
    })
}

/// Copies up to `size` bytes from the start of `source` to the start of
/// `target`, [`COPIED_AT_A_TIME`] at a time, telling `copied` how far it got
/// after each piece; returns how much it copied (less at an early end).
fn copy_range(
    source: &fs_err::File,
    target: &fs_err::File,
    size: u64,
    copied: &mut dyn FnMut(u64),
) -> std::io::Result<u64> {
    use std::io::{Read, Write};
    let mut done = 0;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        while done < size {
            let piece = usize::try_from(COPIED_AT_A_TIME.min(size - done)).unwrap_or(usize::MAX);
            // SAFETY: both descriptors are open for the call; null offsets
            // mean each file's own position, which the call moves on.
            let n = unsafe {
                libc::copy_file_range(
                    source.file().as_raw_fd(),
                    std::ptr::null_mut(),
                    target.file().as_raw_fd(),
                    std::ptr::null_mut(),
                    piece,
                    0,
                )
            };
            match n {
                // Nothing copied at all: some file systems (and /proc) say
                // so for a file that is not empty; the plain copy below reads.
                0 if done == 0 => break,
                0 => return Ok(done),
                n if n > 0 => {
                    done += n as u64;
                    copied(done);
                }
                // Not between these two files (an old kernel, another file
                // system): the plain copy below goes on from here.
                _ if done == 0 => break,
                _ => {
                    let error = std::io::Error::last_os_error();
                    if error.kind() != std::io::ErrorKind::Interrupted {
                        return Err(error);
                    }
                }
            }
        }
    }
    if done >= size {
        return Ok(done);
    }
    let mut buffer = vec![0; usize::try_from(COPIED_AT_A_TIME).unwrap_or(1 << 20)];
    let (mut source, mut target) = (source, target);
    while done < size {
        let piece = usize::try_from(COPIED_AT_A_TIME.min(size - done)).unwrap_or(buffer.len());
        let n = match source.read(&mut buffer[..piece]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        target.write_all(&buffer[..n])?;
        done += n as u64;
        copied(done);
    }
    Ok(done)
}

/// Returns a hidden temporary name beside `path` (`.name.PID-N.tmp`), to write
/// to and then rename over `path`; on the same file system, so the rename is
/// atomic. Unique within this process, so that two threads writing the same
/// name never share a temporary file.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(temporary_name(&name))
}

/// Returns `.name.PID-N.tmp`.
pub fn temporary_name(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{name}.{}-{n}.tmp", PID.get_or_init(std::process::id))
}

/// Returns the PID of the process that made the temporary file `name`
/// (`.name.PID.tmp` or `.name.PID-N.tmp`), or `None` when it is not one.
pub fn temporary_owner(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, tag) = inner.rsplit_once('.')?;
    let pid = tag.split_once('-').map_or(tag, |(pid, _)| pid);
    pid.parse().ok()
}

/// Returns true when `name` is a temporary file whose process no longer runs.
pub fn is_stale_temporary(name: &str) -> bool {
    temporary_owner(name).is_some_and(|pid| !process_alive(pid))
}

/// Returns whether a process with this PID exists.
#[cfg(unix)]
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Returns whether a process with this PID exists (elsewhere: assume it does,
/// so that nothing another process is writing is ever removed).
#[cfg(not(unix))]
pub fn process_alive(_pid: u32) -> bool {
    true
}

/// Returns the stale temporary files directly inside `dir` (those whose
/// process no longer runs); none when `dir` is absent.
pub fn stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| is_stale_temporary(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect()
}

/// A temporary file that is removed when dropped, unless it was renamed into
/// place: a failed write (a full disk, a copy error) leaves nothing behind.
#[derive(Debug)]
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Returns a temporary path beside `target` (nothing is created yet).
    pub fn beside(target: &Path) -> Self {
        Self { path: Some(temporary_sibling(target)) }
    }

    /// Returns a temporary path in `dir` named after `name`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        Self { path: Some(dir.join(temporary_name(name))) }
    }

    /// Returns the temporary path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Renames the file to `target` unless something is there already
    /// (`Ok(false)`, and the file is removed).
    pub fn persist_new(mut self, target: &Path) -> std::io::Result<bool> {
        let path = self.path.take().unwrap_or_default();
        let renamed = crate::platform::rename_new(&path, target);
        if !matches!(renamed, Ok(true)) {
            let _ = crate::cache::remove_path(&path);
        }
        renamed
    }

    /// Renames the file over `target`.
    pub fn persist(mut self, target: &Path) -> std::io::Result<()> {
        let path = self.path.take().unwrap_or_default();
        match fs_err::rename(&path, target) {
            Ok(()) => Ok(()),
            Err(error) => {
                let _ = crate::cache::remove_path(&path);
                Err(error)
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = crate::cache::remove_path(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.txt");
        write_atomic(&path, b"first, longer").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "second");
        assert_eq!(fs_err::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_copy_is_hashed_as_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        for size in [0, 1, COPIED_AT_A_TIME as usize, COPIED_AT_A_TIME as usize * 2 + 3] {
            let bytes: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
            fs_err::write(&from, &bytes).unwrap();
            let to = dir.path().join(format!("to-{size}"));
            let hash = super::copy_hashing(&from, &to).unwrap();
            assert_eq!(hash, crate::hash::hash_bytes(&bytes), "{size}");
            assert!(fs_err::read(&to).unwrap() == bytes, "{size}");
            // Never over a file already there.
            assert!(super::copy_hashing(&from, &to).is_err());
        }
    }

    #[test]
    fn persist_new_never_replaces_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("object");
        let first = TempFile::in_dir(dir.path(), "object");
        fs_err::write(first.path(), "first").unwrap();
        assert!(first.persist_new(&target).unwrap());
        let second = TempFile::in_dir(dir.path(), "object");
        let second_path = second.path().to_path_buf();
        fs_err::write(&second_path, "second").unwrap();
        assert!(!second.persist_new(&target).unwrap());
        assert_eq!(fs_err::read_to_string(&target).unwrap(), "first");
        assert!(!second_path.exists(), "the temporary file is removed");
    }

    #[test]
    fn temporary_names_are_unique_and_name_their_process() {
        let one = temporary_name("abc.def");
        assert_ne!(one, temporary_name("abc.def"));
        assert_eq!(temporary_owner(&one), Some(std::process::id()));
        assert_eq!(temporary_owner(".pipeline.lock.4242.tmp"), Some(4242));
        assert_eq!(temporary_owner("pipeline.lock"), None);
        assert_eq!(temporary_owner(".hidden.tmp"), None);
        assert!(!is_stale_temporary(&one), "this process is alive");
    }

    #[test]
    fn only_the_temporaries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(".obj.2147483646.tmp");
        let alive = dir.path().join(temporary_name("obj"));
        let kept = dir.path().join("obj");
        for path in [&dead, &alive, &kept] {
            fs_err::write(path, "x").unwrap();
        }
        assert_eq!(stale_temporaries(dir.path()), std::slice::from_ref(&dead));
    }

    #[test]
    fn a_dropped_temporary_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let temp = TempFile::beside(&target);
        fs_err::write(temp.path(), "partial").unwrap();
        let path = temp.path().to_path_buf();
        drop(temp);
        assert!(!path.exists() && !target.exists());
    }
}
