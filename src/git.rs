//! Files as a git revision has them, read with the `git` command.

use std::path::Path;
use std::process::Command;

/// Checks that `rev` names a commit of the repository at `root`.
pub fn verify(root: &Path, rev: &str) -> anyhow::Result<()> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git` to read revision `{rev}`: {e}"))?;
    if !output.status.success() {
        anyhow::bail!("`{rev}` is not a revision of the git repository at `{}`", root.display());
    }
    Ok(())
}

/// Returns the bytes of `path` (relative to `root`) at `rev`, or `None` when
/// that revision has no such file.
pub fn show(root: &Path, rev: &str, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["show", &format!("{rev}:./{path}")])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git` to read `{path}` at `{rev}`: {e}"))?;
    if output.status.success() {
        return Ok(Some(output.stdout));
    }
    let message = String::from_utf8_lossy(&output.stderr);
    if message.contains("does not exist") || message.contains("exists on disk, but not in") {
        return Ok(None);
    }
    anyhow::bail!("git cannot read `{path}` at `{rev}`: {}", message.trim())
}
