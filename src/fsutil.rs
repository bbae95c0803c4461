//! File-system helpers shared by the engine: atomic replacement of small files.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` atomically: a temporary file in the same folder
/// is written, flushed to disk and renamed over `path`, so a crash leaves either
/// the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let temp = temporary_sibling(path);
    {
        let mut file = fs_err::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs_err::rename(&temp, path)?;
    if let Ok(dir) = fs_err::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Returns a hidden temporary name beside `path` (`.name.PID.tmp`), to write
/// to and then rename over `path`; on the same file system, so the rename is
/// atomic.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Returns whether `path` is executable by its owner.
pub fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o100 != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.txt");
        super::write_atomic(&path, b"first, longer").unwrap();
        super::write_atomic(&path, b"second").unwrap();
        assert_eq!(fs_err::read_to_string(&path).unwrap(), "second");
        assert_eq!(fs_err::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
