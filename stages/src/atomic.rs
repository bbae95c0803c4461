//! Writing a file so that a crash leaves either the old bytes or the new ones,
//! never a mix: write a hidden sibling, flush it to disk, rename it over.
//! (The engine has its own copy in `src/fsutil.rs`: the crates share no code.)

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically, creating its folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
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
